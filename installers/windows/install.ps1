# Installs the sitrep agent as the Windows service "sitrep" (sitrep daemon --service), with
# restart-on-failure recovery, config in ProgramData and optional enrollment; -Uninstall
# removes it. Safe to run again: it changes only what differs. Run from an elevated prompt.
#
#   .\install.ps1 -Binary .\sitrep.exe -Collector https://sitrep.example.com `
#       -Fingerprint AB:CD:... -Token se_...
#   .\install.ps1 -Uninstall [-Purge]
#
# The token may come from $env:SITREP_ENROLLMENT_TOKEN instead (and the others from
# SITREP_COLLECTOR and SITREP_FINGERPRINT): arguments end up in the shell's history.

[CmdletBinding()]
param(
    [string]$Binary,
    [string]$Token = $env:SITREP_ENROLLMENT_TOKEN,
    [string]$Collector = $env:SITREP_COLLECTOR,
    [string]$Fingerprint = $env:SITREP_FINGERPRINT,
    [switch]$Uninstall,
    [switch]$Purge
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

# The service name is fixed by crates/agent/src/windows_service.rs (SERVICE_NAME).
$ServiceName = 'sitrep'
$InstallDir = Join-Path $env:ProgramFiles 'sitrep'
$BinaryPath = Join-Path $InstallDir 'sitrep.exe'
$DataDir = Join-Path $env:ProgramData 'sitrep'
$ConfigPath = Join-Path $DataDir 'agent.toml'
$TokenPath = Join-Path $DataDir 'enrollment.token'
$StateDir = Join-Path $DataDir 'state'

$ExampleConfig = @'
# sitrep agent configuration; every key is described in docs/config.md.
# Unknown keys are errors: check a change with `sitrep config check`.

# The collector this agent reports to, and the SHA-256 fingerprint of its certificate
# (or ca_file). With enrollment_token_file the service enrolls itself at start.
# collector = "https://sitrep.example.com"
# fingerprint = "AB:CD:..."
# ca_file = 'C:\ProgramData\sitrep\ca.pem'
# enrollment_token_file = 'C:\ProgramData\sitrep\enrollment.token'

# [schedule]
# interval = "15m"

# [probes]
# ping = ["192.0.2.1"]
# resolve = ["example.com"]
# timeout = "2s"
# deadline = "10s"
'@

function Stop-WithError([string]$Message) {
    throw "install.ps1: $Message"
}

function Write-Step([string]$Message) {
    Write-Host "install.ps1: $Message"
}

function Assert-Administrator {
    $identity = [Security.Principal.WindowsIdentity]::GetCurrent()
    $principal = New-Object Security.Principal.WindowsPrincipal($identity)
    if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
        Stop-WithError 'run from an elevated PowerShell (Run as administrator)'
    }
}

# Writes UTF-8 without a BOM (the agent's TOML parser rejects one) only when the text differs.
function Set-FileText([string]$Path, [string]$Text) {
    if ((Test-Path -LiteralPath $Path) -and ([IO.File]::ReadAllText($Path) -ceq $Text)) {
        return $false
    }
    [IO.File]::WriteAllText($Path, $Text, (New-Object Text.UTF8Encoding($false)))
    Write-Step "wrote $Path"
    return $true
}

# Only SYSTEM (the service's account) and Administrators may read the token.
function Protect-TokenFile([string]$Path) {
    & icacls.exe $Path /inheritance:r /grant:r '*S-1-5-18:F' '*S-1-5-32-544:F' | Out-Null
    if ($LASTEXITCODE -ne 0) { Stop-WithError "icacls could not restrict $Path (exit $LASTEXITCODE)" }
}

# Sets the top-level key before the config's first [table], replacing an earlier value. TOML
# literal strings ('...') keep Windows paths' backslashes as they are.
function Set-ConfigKey([string[]]$Lines, [string]$Key, [string]$Value) {
    $line = "$Key = '$Value'"
    $result = New-Object Collections.Generic.List[string]
    $done = $false
    foreach ($existing in $Lines) {
        if (-not $done -and $existing -match '^\s*\[') {
            $result.Add($line)
            $done = $true
        }
        elseif (-not $done -and $existing -match "^\s*$([regex]::Escape($Key))\s*=") {
            $result.Add($line)
            $done = $true
            continue
        }
        $result.Add($existing)
    }
    if (-not $done) { $result.Add($line) }
    return , $result.ToArray()
}

function Test-EnrollmentValues {
    if ($Token -and $Token -notmatch '^[A-Za-z0-9_.-]+$') {
        Stop-WithError 'the enrollment token has characters a token never has (expected se_...)'
    }
    if ($Collector -and $Collector -notmatch "^https?://[^\s'`"\\]+$") {
        Stop-WithError "the collector URL '$Collector' must start with https:// (or http:// on loopback) and have no quotes or spaces"
    }
    if ($Fingerprint) {
        $hex = $Fingerprint -replace ':', ''
        if ($hex -notmatch '^[0-9A-Fa-f]{64}$') {
            Stop-WithError "the fingerprint '$Fingerprint' must be 64 hex digits (colons allowed)"
        }
    }
    if ($Token -and -not $Collector) {
        Stop-WithError '-Token needs -Collector URL (or SITREP_COLLECTOR): the service enrolls there'
    }
}

function Install-Agent {
    if (-not $Binary) {
        $beside = Join-Path $PSScriptRoot 'sitrep.exe'
        if (Test-Path -LiteralPath $beside) { $script:Binary = $beside }
        elseif (-not (Test-Path -LiteralPath $BinaryPath)) {
            Stop-WithError 'no agent binary: pass -Binary PATH (or put sitrep.exe beside this script)'
        }
    }
    if ($Binary -and -not (Test-Path -LiteralPath $Binary -PathType Leaf)) {
        Stop-WithError "-Binary ${Binary}: no such file"
    }
    Test-EnrollmentValues

    $service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
    $changed = $false
    foreach ($dir in @($InstallDir, $DataDir, $StateDir)) {
        if (-not (Test-Path -LiteralPath $dir)) {
            New-Item -ItemType Directory -Path $dir | Out-Null
            $changed = $true
        }
    }

    if ($Binary) {
        $same = (Test-Path -LiteralPath $BinaryPath) -and
            ((Get-FileHash -LiteralPath $Binary).Hash -eq (Get-FileHash -LiteralPath $BinaryPath).Hash)
        if (-not $same) {
            if ($service -and $service.Status -ne 'Stopped') {
                Stop-Service -Name $ServiceName
            }
            Copy-Item -LiteralPath $Binary -Destination $BinaryPath -Force
            Write-Step "installed $BinaryPath"
            $changed = $true
        }
    }

    if ($Token) {
        if (Set-FileText $TokenPath "$Token`n") { $changed = $true }
        Protect-TokenFile $TokenPath
    }
    if (Test-Path -LiteralPath $ConfigPath) {
        $lines = [IO.File]::ReadAllLines($ConfigPath)
    }
    else {
        $lines = $ExampleConfig -split "`r?`n"
    }
    if ($Token) { $lines = Set-ConfigKey $lines 'enrollment_token_file' $TokenPath }
    if ($Collector) { $lines = Set-ConfigKey $lines 'collector' $Collector }
    if ($Fingerprint) { $lines = Set-ConfigKey $lines 'fingerprint' $Fingerprint }
    if (Set-FileText $ConfigPath (($lines -join "`n") + "`n")) { $changed = $true }

    $command = "`"$BinaryPath`" --config `"$ConfigPath`" --state-dir `"$StateDir`" daemon --service"
    if (-not $service) {
        New-Service -Name $ServiceName -BinaryPathName $command -DisplayName 'sitrep agent' `
            -Description 'Machine health snapshots for the helpdesk (sitrep).' `
            -StartupType Automatic | Out-Null
        Write-Step "created the service $ServiceName"
        $changed = $true
    }
    else {
        & sc.exe config $ServiceName binPath= $command start= auto | Out-Null
        if ($LASTEXITCODE -ne 0) { Stop-WithError "sc.exe config $ServiceName failed (exit $LASTEXITCODE)" }
    }
    # Restart after 5 s, 5 s, then 60 s; the count resets after a day without failures.
    # failureflag 1 also counts a non-zero exit with the service stopped, not only a crash.
    & sc.exe failure $ServiceName reset= 86400 actions= restart/5000/restart/5000/restart/60000 | Out-Null
    if ($LASTEXITCODE -ne 0) { Stop-WithError "sc.exe failure $ServiceName failed (exit $LASTEXITCODE)" }
    & sc.exe failureflag $ServiceName 1 | Out-Null
    if ($LASTEXITCODE -ne 0) { Stop-WithError "sc.exe failureflag $ServiceName failed (exit $LASTEXITCODE)" }

    $service = Get-Service -Name $ServiceName
    if ($changed -and $service.Status -eq 'Running') {
        Restart-Service -Name $ServiceName
        Write-Step "restarted $ServiceName"
    }
    elseif ($service.Status -ne 'Running') {
        Start-Service -Name $ServiceName
        Write-Step "started $ServiceName"
    }
    if (-not $changed) { Write-Step 'nothing to change: already installed' }
}

function Uninstall-Agent {
    $service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
    if ($service) {
        if ($service.Status -ne 'Stopped') { Stop-Service -Name $ServiceName }
        # sc.exe, not Remove-Service: Windows PowerShell 5.1 has no Remove-Service.
        & sc.exe delete $ServiceName | Out-Null
        if ($LASTEXITCODE -ne 0) { Stop-WithError "sc.exe delete $ServiceName failed (exit $LASTEXITCODE)" }
        Write-Step "removed the service $ServiceName"
    }
    if (Test-Path -LiteralPath $InstallDir) {
        Remove-Item -LiteralPath $InstallDir -Recurse -Force
        Write-Step "removed $InstallDir"
    }
    if ($Purge) {
        if (Test-Path -LiteralPath $DataDir) {
            Remove-Item -LiteralPath $DataDir -Recurse -Force
            Write-Step "removed $DataDir"
        }
    }
    else {
        Write-Step "kept $DataDir (-Purge removes it)"
    }
}

if ($Purge -and -not $Uninstall) { Stop-WithError '-Purge goes with -Uninstall' }
Assert-Administrator
if ($Uninstall) { Uninstall-Agent } else { Install-Agent }
