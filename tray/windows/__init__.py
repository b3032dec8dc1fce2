"""The app's windows: login, dial, incoming call, settings (the receive scheme), add contact,
new employee.

Each runs in a process of its own (`python -m tray.windows NAME`, started by
`TalkerApp.open_window`) and talks to the app only over the control channel, as client
"window": on macOS the tray icon owns the main thread and Tk wants it too, and a busy window
never freezes the phone. Tk ships with Python, so no GUI dependency is added.

Layout: `forms.py` is the logic without widgets (tested without a display), `base.py` the link
to the app and the look, one module per window, `testhook.py` the scripted driver the
integration tests use (only when TALKER_WINDOW_TEST_DIR is set).
"""
