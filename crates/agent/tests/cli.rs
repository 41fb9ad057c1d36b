//! The real `sitrep` binary as a user runs it, without network traffic: schema, exit codes,
//! config errors and the shape of both outputs.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn bare_sitrep() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sitrep"))
}

fn sitrep() -> Command {
    let mut command = bare_sitrep();
    // Keep the host's own config, if any, out of the tests.
    command
        .env_remove("SITREP_LOG")
        .arg("--config")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/empty.toml"));
    command
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output).expect("stdout is JSON")
}

#[test]
fn report_json_matches_the_published_schema() {
    let schema = json(
        &sitrep()
            .arg("schema")
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    let output = sitrep()
        .args(["report", "--json", "--no-probes"])
        .output()
        .expect("runs");
    let code = output.status.code().expect("exited");
    assert!(
        (0..=2).contains(&code),
        "report exits with a verdict, got {code}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let snapshot = json(&output.stdout);

    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(&snapshot)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "snapshot violates the schema:\n{}",
        errors.join("\n")
    );

    assert_eq!(snapshot["schema_version"], 1);
    assert_eq!(snapshot["trigger"], "manual");
    assert_eq!(
        snapshot["probes"]["skipped"],
        "probes turned off (--no-probes)"
    );
    for section in ["os", "hardware", "disks", "network"] {
        assert!(
            snapshot[section].get("ok").is_some() || snapshot[section].get("error").is_some(),
            "{section}: {}",
            snapshot[section]
        );
    }
    let id = snapshot["id"].as_str().expect("id");
    assert_eq!(id.as_bytes()[14], b'7', "id {id} is a UUID v7");
    let worst = snapshot["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| match f["severity"].as_str() {
            Some("fail") => 2,
            Some("warn") => 1,
            _ => 0,
        });
    assert_eq!(
        worst.max().unwrap_or(0),
        code,
        "exit code follows the worst finding"
    );
}

#[test]
fn a_schema_violation_is_detected() {
    // The validator test above is only worth something if a wrong snapshot fails it.
    let schema = json(
        &sitrep()
            .arg("schema")
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    let mut snapshot = json(
        &sitrep()
            .args(["report", "--json", "--no-probes", "--sections", "os"])
            .output()
            .expect("runs")
            .stdout,
    );
    snapshot["trigger"] = Value::from("whenever");
    snapshot["os"] = serde_json::json!({"maybe": {}});
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    assert!(validator.iter_errors(&snapshot).count() >= 2);
}

#[test]
fn sections_limit_what_is_gathered() {
    let snapshot = json(
        &sitrep()
            .args(["report", "--json", "--no-probes", "--sections", "os,disks"])
            .output()
            .expect("runs")
            .stdout,
    );
    assert!(snapshot["os"].get("ok").is_some(), "{}", snapshot["os"]);
    for section in ["hardware", "network", "peripherals"] {
        assert_eq!(
            snapshot[section]["skipped"], "not requested (--sections)",
            "{section}"
        );
    }
}

#[test]
fn human_report_puts_the_verdict_first_without_colour_when_piped() {
    let output = sitrep()
        .args(["report", "--no-probes"])
        .output()
        .expect("runs");
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let verdict = text.lines().nth(2).expect("a verdict line");
    assert!(
        ["PASS  ", "WARN  ", "FAIL  "]
            .iter()
            .any(|p| verdict.starts_with(p)),
        "{text}"
    );
    assert!(
        verdict.contains(" failed, ") && verdict.contains(" passed"),
        "{verdict}"
    );
    assert!(!text.contains('\x1b'), "no colour codes on a pipe");
    assert!(text.contains("\nSystem"), "{text}");
}

#[test]
fn unknown_flag_is_a_usage_error() {
    sitrep().args(["report", "--colour"]).assert().code(3);
}

#[test]
fn help_subcommand_is_not_clap_help() {
    // `sitrep help TEXT` is for end users asking for help; without TEXT and no terminal to ask
    // on, it is a usage error.
    let output = sitrep().arg("help").output().expect("runs");
    assert_eq!(output.status.code(), Some(3));
    sitrep().arg("--help").assert().success();
}

#[test]
fn malformed_target_is_a_usage_error_naming_it() {
    let output = sitrep()
        .args(["report", "--no-probes", "--target", "mail.example:notaport"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("mail.example:notaport"));
}

#[test]
fn missing_config_file_is_reported() {
    let output = bare_sitrep()
        .args([
            "--config",
            "/nonexistent/sitrep/agent.toml",
            "report",
            "--no-probes",
        ])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read config file /nonexistent/sitrep/agent.toml"),
        "{stderr}"
    );
}

#[test]
fn bad_config_reports_every_problem_and_exits_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("agent.toml");
    std::fs::write(&path, "[probes]\ntimout = \"2s\"\nping = [\"printer.example\"]\n[schedule]\ninterval = \"soon\"\n").expect("write");
    for args in [&["config", "check"][..], &["report", "--no-probes"][..]] {
        let output = bare_sitrep()
            .arg("--config")
            .arg(&path)
            .args(args)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(3), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("2 problems"), "{stderr}");
        assert!(
            stderr.contains("line 2: probes.timout: unknown field `timout`"),
            "{stderr}"
        );
        assert!(stderr.contains("line 5: schedule.interval:"), "{stderr}");
    }
}

#[test]
fn syntax_error_in_config_names_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("agent.toml");
    std::fs::write(&path, "collector = \"https://a.example\"\n[probes\n").expect("write");
    let output = bare_sitrep()
        .arg("--config")
        .arg(&path)
        .args(["config", "check"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn good_config_checks_out() {
    let output = sitrep().args(["config", "check"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("config OK: "));
}
