//! Credentials removed from URLs before they enter a snapshot (DESIGN.md, privacy).

/// Removes `user:password@` from a URL (a proxy, a printer's device URI), with or without a
/// scheme. Everything up to the last `@` goes, so a password that itself holds `@` or `/`
/// cannot leak (at the price of a host lost from a URL whose path holds an `@`).
pub(crate) fn strip_credentials(value: &str) -> String {
    let (scheme, rest) = value
        .find("://")
        .map_or(("", value), |end| value.split_at(end + 3));
    match rest.rsplit_once('@') {
        Some((_credentials, host)) => format!("{scheme}{host}"),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_removed() {
        assert_eq!(
            strip_credentials("http://user:pass@proxy.corp.example:3128"),
            "http://proxy.corp.example:3128"
        );
        assert_eq!(
            strip_credentials("user:pass@proxy.corp.example:3128"),
            "proxy.corp.example:3128"
        );
        assert_eq!(
            strip_credentials("socks5h://alice@10.0.0.1:1080/"),
            "socks5h://10.0.0.1:1080/"
        );
        assert_eq!(
            strip_credentials("http://us%40er:p@ss/w0rd@proxy:8080/"),
            "http://proxy:8080/"
        );
        assert_eq!(
            strip_credentials("http://proxy.corp.example:3128/"),
            "http://proxy.corp.example:3128/"
        );
        assert_eq!(
            strip_credentials("localhost,127.0.0.1,.corp.example"),
            "localhost,127.0.0.1,.corp.example"
        );
        assert_eq!(
            strip_credentials("smb://CORP%5Calice:hunter2@fileserver/finance-laser"),
            "smb://fileserver/finance-laser"
        );
    }
}
