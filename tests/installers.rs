//! The installers under installers/: the Linux and macOS install.sh into a temporary root
//! (`DESTDIR`): layout, modes, enrollment keys, a second run that changes nothing, a changed
//! config kept, `--uninstall` keeping only config and state, `--purge` leaving nothing; the
//! launchd plist against Apple's plist DTD (xmllint, offline); and install.ps1's syntax.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TOKEN: &str = "se_installertest0123";
const COLLECTOR: &str = "https://collector.example.test:8443";

fn fingerprint() -> String {
    ["AB"; 32].join(":")
}

fn installers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("installers")
}

fn agent_binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("sitrep")
}

/// Every path under `root` with its mode, size, content and mtime: equal snapshots mean a run
/// wrote nothing.
type Tree = BTreeMap<String, (u32, Vec<u8>, i64, i64)>;

fn tree(root: &Path) -> Tree {
    let mut found = Tree::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("read a staged directory") {
            let path = entry.expect("a directory entry").path();
            let meta = fs::symlink_metadata(&path).expect("stat a staged path");
            let relative = path
                .strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .into_owned();
            let content = if meta.is_file() {
                fs::read(&path).expect("read a staged file")
            } else {
                pending.push(path.clone());
                Vec::new()
            };
            found.insert(
                relative,
                (
                    meta.permissions().mode() & 0o7777,
                    content,
                    meta.mtime(),
                    meta.mtime_nsec(),
                ),
            );
        }
    }
    found
}

fn mode(tree: &Tree, path: &str) -> u32 {
    tree.get(path)
        .unwrap_or_else(|| panic!("{path} is not installed; installed: {:?}", tree.keys()))
        .0
}

fn text(tree: &Tree, path: &str) -> String {
    String::from_utf8(tree[path].1.clone()).expect("UTF-8 text")
}

/// Runs an install script with `sh` (dash on Debian: what POSIX allows, no bashisms).
fn run_script(script: &Path, destdir: &Path, args: &[&str], envs: &[(&str, &str)]) -> String {
    let output = Command::new("sh")
        .arg(script)
        .args(args)
        .env("DESTDIR", destdir)
        .env_remove("SITREP_ENROLLMENT_TOKEN")
        .env_remove("SITREP_COLLECTOR")
        .env_remove("SITREP_FINGERPRINT")
        .envs(envs.iter().copied())
        .output()
        .expect("run sh");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{} {args:?} failed ({}):\n{stdout}\n{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The installed config parses and carries the enrollment keys, as the agent itself sees it.
fn assert_config_checks(config: &Path) {
    let output = Command::new(agent_binary())
        .arg("--config")
        .arg(config)
        .args(["config", "check"])
        .output()
        .expect("run sitrep config check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "sitrep config check {}: {}\n{stdout}{}",
        config.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(COLLECTOR), "{stdout}");
}

fn assert_enrollment_keys(config: &str, token_path: &str) {
    let fingerprint = fingerprint();
    for line in [
        format!("collector = \"{COLLECTOR}\""),
        format!("fingerprint = \"{fingerprint}\""),
        format!("enrollment_token_file = \"{token_path}\""),
    ] {
        assert!(
            config.lines().any(|l| l == line),
            "config lacks `{line}`:\n{config}"
        );
    }
}

/// Install, install again, change the config and install again, uninstall, purge: what one
/// install.sh must survive. `kept` is what `--uninstall` leaves (config, token, state).
struct Layout<'a> {
    script: PathBuf,
    binary: &'a str,
    config: &'a str,
    token: &'a str,
    expected_modes: &'a [(&'a str, u32)],
    kept: &'a [&'a str],
}

fn exercise(layout: &Layout) -> TestResult {
    let root = tempfile::tempdir()?;
    let destdir = root.path();
    let binary = agent_binary();
    let binary = binary.to_str().ok_or("binary path is not UTF-8")?;
    let fingerprint = fingerprint();
    // The token from the environment (as documented), the rest as arguments.
    let args = [
        "--binary",
        binary,
        "--collector",
        COLLECTOR,
        "--fingerprint",
        &fingerprint,
    ];
    let env = [("SITREP_ENROLLMENT_TOKEN", TOKEN)];

    let first = run_script(&layout.script, destdir, &args, &env);
    assert!(first.contains("not "), "no DESTDIR notice: {first}");
    let installed = tree(destdir);
    for (path, expected) in layout.expected_modes {
        assert_eq!(
            mode(&installed, path),
            *expected,
            "mode of {path}: {:o}",
            mode(&installed, path)
        );
    }
    assert_eq!(installed[layout.binary].1, fs::read(binary)?);
    assert_eq!(text(&installed, layout.token), format!("{TOKEN}\n"));
    let config = text(&installed, layout.config);
    assert_enrollment_keys(&config, &format!("/{}", layout.token));
    assert!(
        config.starts_with("# sitrep agent configuration"),
        "no commented example:\n{config}"
    );
    assert_config_checks(&destdir.join(layout.config));

    let second = run_script(&layout.script, destdir, &args, &env);
    assert!(second.contains("nothing to change"), "{second}");
    assert_eq!(tree(destdir), installed, "a second run changed files");

    // An administrator's edit survives a re-run with the same enrollment.
    let edited = format!("{config}[probes]\ntimeout = \"1s\"\n");
    fs::write(destdir.join(layout.config), &edited)?;
    run_script(&layout.script, destdir, &args, &env);
    assert_eq!(fs::read_to_string(destdir.join(layout.config))?, edited);
    // And a re-run without any enrollment or binary touches nothing.
    let before = tree(destdir);
    let bare = run_script(&layout.script, destdir, &[], &[]);
    assert!(bare.contains("nothing to change"), "{bare}");
    assert_eq!(tree(destdir), before);

    run_script(&layout.script, destdir, &["--uninstall"], &[]);
    let remaining = tree(destdir);
    // Kept paths, what is inside them and the directories above them.
    let files: Vec<&str> = remaining
        .keys()
        .map(String::as_str)
        .filter(|path| {
            !layout
                .kept
                .iter()
                .any(|kept| kept.starts_with(path) || path.starts_with(kept))
        })
        .collect();
    assert!(
        files.is_empty(),
        "--uninstall left {files:?} besides {:?}",
        layout.kept
    );
    for kept in layout.kept {
        assert!(remaining.contains_key(*kept), "--uninstall removed {kept}");
    }
    assert_eq!(fs::read_to_string(destdir.join(layout.config))?, edited);

    run_script(&layout.script, destdir, &["--uninstall", "--purge"], &[]);
    let left: Vec<String> = tree(destdir).into_keys().collect();
    assert!(left.is_empty(), "--purge left {left:?}");
    Ok(())
}

#[test]
fn linux_install_sh_into_destdir() -> TestResult {
    exercise(&Layout {
        script: installers().join("linux/install.sh"),
        binary: "usr/bin/sitrep",
        config: "etc/sitrep/agent.toml",
        token: "etc/sitrep/enrollment.token",
        expected_modes: &[
            ("usr/bin/sitrep", 0o755),
            ("etc/sitrep", 0o755),
            ("etc/sitrep/agent.toml", 0o644),
            ("etc/sitrep/enrollment.token", 0o600),
            ("lib/systemd/system/sitrep-agent.service", 0o644),
            ("var/lib/sitrep", 0o750),
        ],
        kept: &[
            "etc/sitrep/agent.toml",
            "etc/sitrep/enrollment.token",
            "var/lib/sitrep",
        ],
    })
}

#[test]
fn linux_install_sh_installs_the_unit_beside_it() -> TestResult {
    let root = tempfile::tempdir()?;
    let binary = agent_binary();
    let binary = binary.to_str().ok_or("binary path is not UTF-8")?;
    run_script(
        &installers().join("linux/install.sh"),
        root.path(),
        &["--binary", binary],
        &[],
    );
    let unit = fs::read_to_string(root.path().join("lib/systemd/system/sitrep-agent.service"))?;
    let beside = installers().join("linux/sitrep-agent.service");
    if beside.exists() {
        assert_eq!(unit, fs::read_to_string(beside)?);
    }
    assert!(
        unit.lines()
            .any(|l| l.starts_with("ExecStart=/usr/bin/sitrep ") && l.ends_with(" daemon")),
        "{unit}"
    );
    Ok(())
}

#[test]
fn linux_install_sh_refuses_bad_input() -> TestResult {
    let root = tempfile::tempdir()?;
    let script = installers().join("linux/install.sh");
    let binary = agent_binary();
    let binary = binary.to_str().ok_or("binary path is not UTF-8")?;
    for (args, expected) in [
        (vec!["--binary", "/nonexistent/sitrep"], "no such file"),
        (
            vec!["--binary", binary, "--token", TOKEN],
            "needs --collector",
        ),
        (
            vec!["--binary", binary, "--collector", "ftp://x"],
            "must start with https://",
        ),
        (
            vec![
                "--binary",
                binary,
                "--collector",
                COLLECTOR,
                "--fingerprint",
                "AB:CD",
            ],
            "not 64",
        ),
        (vec!["--purge"], "--purge goes with --uninstall"),
        (vec!["--frobnicate"], "unknown argument"),
    ] {
        let output = Command::new("sh")
            .arg(&script)
            .args(&args)
            .env("DESTDIR", root.path())
            .output()?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    assert!(tree(root.path()).is_empty(), "a refused run wrote files");
    Ok(())
}

#[test]
fn macos_install_sh_into_destdir() -> TestResult {
    exercise(&Layout {
        script: installers().join("macos/install.sh"),
        binary: "usr/local/bin/sitrep",
        config: "Library/Application Support/sitrep/agent.toml",
        token: "Library/Application Support/sitrep/enrollment.token",
        expected_modes: &[
            ("usr/local/bin/sitrep", 0o755),
            ("Library/LaunchDaemons/com.sitrep.agent.plist", 0o644),
            ("Library/Application Support/sitrep/agent.toml", 0o644),
            ("Library/Application Support/sitrep/enrollment.token", 0o600),
            ("Library/Application Support/sitrep/state", 0o700),
            ("Library/Logs/sitrep", 0o755),
        ],
        kept: &[
            "Library/Application Support/sitrep/agent.toml",
            "Library/Application Support/sitrep/enrollment.token",
            "Library/Application Support/sitrep/state",
            "Library/Logs/sitrep",
        ],
    })
}

fn xmllint() -> Command {
    let found = Command::new("xmllint").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "xmllint is missing: install libxml2-utils (scripts/test.sh does)"
    );
    Command::new("xmllint")
}

/// Validates through an XML catalog that maps Apple's public id to the DTD copy in a temp
/// dir, so `--valid` reads the DOCTYPE as launchd's tools do, without network (`--nonet`).
#[test]
fn launchd_plist_is_valid_against_apples_dtd() -> TestResult {
    let dir = tempfile::tempdir()?;
    let dtd = dir.path().join("PropertyList-1.0.dtd");
    fs::copy(installers().join("macos/PropertyList-1.0.dtd"), &dtd)?;
    let catalog = dir.path().join("catalog.xml");
    fs::write(
        &catalog,
        format!(
            "<?xml version=\"1.0\"?>\n<catalog xmlns=\"urn:oasis:names:tc:entity:xmlns:xml:catalog\">\n  \
             <public publicId=\"-//Apple//DTD PLIST 1.0//EN\" uri=\"file://{}\"/>\n</catalog>\n",
            dtd.display()
        ),
    )?;
    let plist = installers().join("macos/com.sitrep.agent.plist");
    let validate = |path: &Path| {
        xmllint()
            .args(["--noout", "--nonet", "--valid"])
            .arg(path)
            .env("XML_CATALOG_FILES", &catalog)
            .output()
            .expect("run xmllint")
    };
    let output = validate(&plist);
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "xmllint --valid {}: {}\n{}",
        plist.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    // The check bites: a misspelt element fails validation.
    let broken = dir.path().join("broken.plist");
    fs::write(
        &broken,
        fs::read_to_string(&plist)?.replace("<true/>", "<yes/>"),
    )?;
    assert!(
        !validate(&broken).status.success(),
        "an invalid plist passed"
    );

    let value = |xpath: &str| {
        let output = xmllint()
            .args(["--nonet", "--xpath", xpath])
            .arg(&plist)
            .env("XML_CATALOG_FILES", &catalog)
            .output()
            .expect("run xmllint --xpath");
        String::from_utf8_lossy(&output.stdout)
            .trim_end_matches('\n')
            .to_string()
    };
    let after = |key: &str| format!("/plist/dict/key[.='{key}']/following-sibling::*[1]");
    assert_eq!(
        value(&format!("string({})", after("Label"))),
        "com.sitrep.agent"
    );
    assert_eq!(
        value(&format!("name({})", after("RunAtLoad"))),
        "true",
        "RunAtLoad"
    );
    assert_eq!(value(&format!("name({})", after("KeepAlive"))), "dict");
    assert_eq!(
        value(&format!("string({})", after("StandardOutPath"))),
        "/Library/Logs/sitrep/agent.log"
    );
    assert_eq!(
        value(&format!("string({})", after("StandardErrorPath"))),
        "/Library/Logs/sitrep/agent.err.log"
    );
    let arguments: Vec<String> = (1..=6)
        .map(|n| {
            value(&format!(
                "string({}/string[{n}])",
                after("ProgramArguments")
            ))
        })
        .collect();
    assert_eq!(
        arguments,
        [
            "/usr/local/bin/sitrep",
            "--config",
            "/Library/Application Support/sitrep/agent.toml",
            "--state-dir",
            "/Library/Application Support/sitrep/state",
            "daemon",
        ]
    );
    Ok(())
}

/// Code with comments and string contents blanked out, so brackets and names are counted
/// only where PowerShell reads them. Fails on an unterminated string or comment.
fn powershell_code(source: &str) -> Result<String, String> {
    let chars: Vec<char> = source.chars().collect();
    let mut code = String::with_capacity(source.len());
    let mut i = 0;
    let at = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    let line_of = |i: usize| chars[..i].iter().filter(|c| **c == '\n').count() + 1;
    while i < chars.len() {
        let start = i;
        if at(i, "<#") {
            i = (i + 2..chars.len())
                .find(|&j| at(j, "#>"))
                .ok_or(format!("line {}: unterminated <# comment", line_of(start)))?
                + 2;
        } else if chars[i] == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if at(i, "@'") || at(i, "@\"") {
            let end = if chars[i + 1] == '\'' {
                "\n'@"
            } else {
                "\n\"@"
            };
            i = (i + 2..chars.len())
                .find(|&j| at(j, end))
                .ok_or(format!("line {}: unterminated here-string", line_of(start)))?
                + 3;
            code.push_str("''");
        } else if chars[i] == '\'' || chars[i] == '"' {
            let quote = chars[i];
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("line {}: unterminated string", line_of(start))),
                    Some('`') if quote == '"' => i += 2,
                    Some(c) if *c == quote && chars.get(i + 1) == Some(&quote) => i += 2,
                    Some(c) if *c == quote => break,
                    Some(_) => i += 1,
                }
            }
            i += 1;
            code.push_str("''");
        } else {
            code.push(chars[i]);
            i += 1;
        }
    }
    Ok(code)
}

/// The fallback when `pwsh` is not installed: brackets balance outside strings and comments,
/// strings and comments end, the script has a `param(` block, and every Verb-Noun command it
/// calls is either defined in it or one of the built-in cmdlets it is known to use.
fn check_powershell_syntax(source: &str) -> Result<(), String> {
    const BUILTIN: &[&str] = &[
        "Copy-Item",
        "Get-FileHash",
        "Get-Service",
        "Join-Path",
        "New-Item",
        "New-Object",
        "New-Service",
        "Out-Null",
        "Remove-Item",
        "Restart-Service",
        "Set-StrictMode",
        "Start-Service",
        "Stop-Service",
        "Test-Path",
        "Write-Host",
    ];
    let code = powershell_code(source)?;
    let mut open = Vec::new();
    for (number, line) in code.lines().enumerate() {
        for c in line.chars() {
            match c {
                '(' | '{' | '[' => open.push((c, number + 1)),
                ')' | '}' | ']' => {
                    let expected = match c {
                        ')' => '(',
                        '}' => '{',
                        _ => '[',
                    };
                    match open.pop() {
                        Some((opened, _)) if opened == expected => {}
                        Some((opened, at)) => {
                            return Err(format!(
                                "line {}: `{c}` closes `{opened}` of line {at}",
                                number + 1
                            ));
                        }
                        None => return Err(format!("line {}: `{c}` closes nothing", number + 1)),
                    }
                }
                _ => {}
            }
        }
    }
    if let Some((opened, at)) = open.pop() {
        return Err(format!("line {at}: `{opened}` is never closed"));
    }
    if !code.lines().any(|l| l.trim_start().starts_with("param(")) {
        return Err("no param( block".into());
    }
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '$' || c == ':'))
        .collect();
    let defined: Vec<&str> = words
        .windows(2)
        .filter(|pair| pair[0].eq_ignore_ascii_case("function"))
        .map(|pair| pair[1])
        .collect();
    for word in &words {
        let Some((verb, noun)) = word.split_once('-') else {
            continue;
        };
        let is_command = verb.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && verb.chars().all(|c| c.is_ascii_alphabetic())
            && noun.chars().next().is_some_and(|c| c.is_ascii_uppercase());
        if is_command && !defined.contains(word) && !BUILTIN.contains(word) {
            return Err(format!(
                "{word} is called but neither defined in the script nor a known cmdlet"
            ));
        }
    }
    Ok(())
}

#[test]
fn powershell_install_script_parses() -> TestResult {
    let script = installers().join("windows/install.ps1");
    let source = fs::read_to_string(&script)?;
    let pwsh_present = Command::new("pwsh")
        .arg("-Version")
        .output()
        .is_ok_and(|o| o.status.success());
    if pwsh_present {
        let parse = "$errors = $null; \
            [void][System.Management.Automation.Language.Parser]::ParseFile($args[0], [ref]$null, [ref]$errors); \
            if ($errors.Count) { $errors | ForEach-Object { \"$($_.Extent.StartLineNumber): $($_.Message)\" }; exit 1 }";
        let output = Command::new("pwsh")
            .args(["-NoProfile", "-NonInteractive", "-Command", parse])
            .arg(&script)
            .output()?;
        assert!(
            output.status.success(),
            "pwsh parse errors in {}:\n{}{}",
            script.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("install.ps1 parsed with pwsh");
    } else {
        eprintln!("pwsh not installed: install.ps1 checked by check_powershell_syntax");
    }
    check_powershell_syntax(&source).map_err(|e| format!("{}: {e}", script.display()))?;
    // The service's command line is what crates/agent expects of the service control manager.
    assert!(source.contains("$ServiceName = 'sitrep'"));
    assert!(source.contains("daemon --service"));
    assert!(source.contains("sc.exe failure $ServiceName"));
    Ok(())
}

#[test]
fn powershell_syntax_check_catches_mistakes() {
    let good = "param([string]$A)\nfunction Get-Thing { Write-Host \"{ (\" }\nGet-Thing # )\n";
    assert_eq!(check_powershell_syntax(good), Ok(()));
    for (bad, expected) in [
        ("param()\nfunction A { (\n", "never closed"),
        ("param()\n$a = 'open\n", "unterminated string"),
        ("param()\nInvoke-Missing\n", "Invoke-Missing"),
        ("$a = 1\n", "no param("),
        ("param()\n@'\nno end\n", "here-string"),
    ] {
        let error = check_powershell_syntax(bad).expect_err(bad);
        assert!(error.contains(expected), "{bad:?}: {error}");
    }
}
