"""Per-OS installers: everything that ties Talker into a desktop, and nothing else.

    talker-integration install [--yes] [--no-autostart]   (python -m installers install)
    talker-integration uninstall
    talker-integration autostart on|off
    talker-integration status
    talker-integration build windows|macos OUTDIR         (packaging files, on any OS)

One backend per OS behind one base (installers/base.py): Linux (installers/linux/), Windows
(installers/windows/) and macOS (installers/macos/). The one that applies is chosen by
sys.platform; TALKER_INSTALLER_TARGET overrides it, as PYSTRAY_BACKEND does for pystray.
Everything an install adds is listed in an install record, so that uninstall removes exactly
that and puts back what it replaced (installers/record.py).

The browsers, their manifest folders and registry keys, the host name and the extension IDs
come from common/browser_bridge.py: the installers add only what is specific to installing.
"""

TARGET_ENV = "TALKER_INSTALLER_TARGET"
# What a link may be: the URL schemes Talker registers for (the CLI validates every value).
SCHEMES = ("tel", "callto", "sip")
