# Build Talker's Windows installer: PyInstaller, then Inno Setup. On Windows 10/11 (x64) with
# Python 3.12 (or 3.11) and Inno Setup 6 installed; from the repository root:
#
#     powershell -ExecutionPolicy Bypass -File installers\windows\build.ps1
#
# Result: build\windows\output\Talker-<version>-setup.exe. Steps are in docs/install.md.
$ErrorActionPreference = "Stop"
$root = Resolve-Path "$PSScriptRoot\..\.."
Set-Location $root
$out = "build\windows"
$venv = "build\venv-windows"

if (-not (Test-Path "$venv\Scripts\python.exe")) {
    py -3.12 -m venv $venv
    if ($LASTEXITCODE -ne 0) { py -3.11 -m venv $venv }
}
& "$venv\Scripts\python.exe" -m pip install --disable-pip-version-check -q -c constraints.txt . pyinstaller
if ($LASTEXITCODE -ne 0) { throw "pip install failed" }

# talker.iss, the example .reg and talker.ico, from installers\windows\__init__.py.
& "$venv\Scripts\python.exe" -m installers build windows $out
if ($LASTEXITCODE -ne 0) { throw "installers build failed" }

& "$venv\Scripts\pyinstaller.exe" --noconfirm --distpath "$out\dist" --workpath "$out\work" installers\talker.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }

$iscc = @("${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe", "$env:ProgramFiles\Inno Setup 6\ISCC.exe",
          "$env:LOCALAPPDATA\Programs\Inno Setup 6\ISCC.exe") | Where-Object { Test-Path $_ } | Select-Object -First 1
if (-not $iscc) { throw "Inno Setup 6 is not installed (https://jrsoftware.org/isinfo.php)" }
& $iscc "$out\talker.iss"
if ($LASTEXITCODE -ne 0) { throw "ISCC failed" }
Get-ChildItem "$out\output\*.exe"
