//! The weekly review by email: the Markdown review as the text, the self-contained HTML
//! report (charts included) attached. SMTP with STARTTLS required by default, or TLS from
//! the first byte; the password comes from `SRE_SMTP_PASSWORD` and is sent only encrypted.

use super::{headline, secret_env, NotifyArgs, NotifyError, SmtpTls, SMTP_PASSWORD_ENV};
use crate::history::History;
use crate::AnalyzedReport;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use std::time::Duration;

/// The message: subject is the review's headline, the text the Markdown report, and the
/// HTML report attached as `alert-review.html`.
pub fn message(
    args: &NotifyArgs,
    analyzed: &AnalyzedReport,
    history: &History,
) -> Result<Message, NotifyError> {
    let from = args
        .email_from
        .as_deref()
        .ok_or_else(|| NotifyError::Email("--email-to needs --email-from".into()))?;
    let mut builder = Message::builder()
        .from(mailbox("--email-from", from)?)
        .subject(headline(analyzed));
    // Dated like the report (so SOURCE_DATE_EPOCH gives the same message).
    if let Ok(ts) = analyzed.report.generated_at.parse::<jiff::Timestamp>() {
        builder = builder.date(std::time::SystemTime::from(ts));
    }
    for to in &args.email_to {
        builder = builder.to(mailbox("--email-to", to)?);
    }
    let text = sre_render::render(
        &analyzed.report,
        sre_render::Format::Markdown,
        &sre_render::RenderOptions::default(),
    )
    .map_err(|e| NotifyError::Email(format!("cannot render the review: {e}")))?;
    let html = crate::html::render(analyzed, history)
        .map_err(|e| NotifyError::Email(format!("cannot render the HTML report: {e}")))?;
    builder
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(text))
                .singlepart(
                    Attachment::new("alert-review.html".to_string())
                        .body(html, ContentType::TEXT_HTML),
                ),
        )
        .map_err(|e| NotifyError::Email(format!("cannot build the message: {e}")))
}

/// `HOST[:PORT]` (IPv6 in brackets) with the mode's default port.
fn host_port(server: &str, tls: SmtpTls) -> Result<(String, u16), NotifyError> {
    let default = match tls {
        SmtpTls::Starttls => 587,
        SmtpTls::Tls => 465,
        SmtpTls::None => 25,
    };
    let bad = || {
        NotifyError::Email(format!(
            "--smtp-server `{server}` is not HOST or HOST:PORT (e.g. smtp.example.com:587, [2001:db8::1]:587)"
        ))
    };
    let (host, port) = if let Some(rest) = server.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        match after.strip_prefix(':') {
            Some(p) => (host, p.parse().map_err(|_| bad())?),
            None if after.is_empty() => (host, default),
            None => return Err(bad()),
        }
    } else {
        match server.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, p.parse().map_err(|_| bad())?),
            Some(_) => return Err(bad()),
            None => (server, default),
        }
    };
    if host.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// The transport for `--smtp-server`, `--smtp-tls`, `--smtp-user` and `--smtp-ca-file`.
fn transport(args: &NotifyArgs, timeout: Duration) -> Result<(SmtpTransport, String), NotifyError> {
    let server = args
        .smtp_server
        .as_deref()
        .ok_or_else(|| NotifyError::Email("--email-to needs --smtp-server HOST[:PORT]".into()))?;
    let mode = args.smtp_tls.unwrap_or(SmtpTls::Starttls);
    let (host, port) = host_port(server, mode)?;
    let shown = format!("{host}:{port}");
    let tls = if mode == SmtpTls::None {
        Tls::None
    } else {
        let mut params = TlsParameters::builder(host.clone());
        if let Some(path) = &args.smtp_ca_file {
            let pem = ca_pem(path)?;
            let cert = Certificate::from_pem(&pem).map_err(|e| {
                NotifyError::Email(format!(
                    "--smtp-ca-file {} holds no usable PEM certificate: {e}",
                    path.display()
                ))
            })?;
            params = params.add_root_certificate(cert);
        }
        let params = params
            .build_rustls()
            .map_err(|e| NotifyError::Email(format!("cannot set up TLS for {shown}: {e}")))?;
        if mode == SmtpTls::Starttls {
            Tls::Required(params)
        } else {
            Tls::Wrapper(params)
        }
    };
    let mut builder = SmtpTransport::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(timeout));
    if let Some(user) = &args.smtp_user {
        if mode == SmtpTls::None {
            return Err(NotifyError::Email(PLAINTEXT_PASSWORD.into()));
        }
        let password = secret_env(SMTP_PASSWORD_ENV).ok_or_else(|| {
            NotifyError::Email(format!(
                "--smtp-user needs the password in {SMTP_PASSWORD_ENV}"
            ))
        })?;
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok((builder.build(), shown))
}

/// Checks the addresses, the server and (unless `--dry-run`) the password.
pub fn preflight(args: &NotifyArgs) -> Result<(), NotifyError> {
    if args.email_to.is_empty() {
        return Ok(());
    }
    for (flag, value) in args
        .email_to
        .iter()
        .map(|t| ("--email-to", t.as_str()))
        .chain(args.email_from.as_deref().map(|f| ("--email-from", f)))
    {
        mailbox(flag, value)?;
    }
    let mode = args.smtp_tls.unwrap_or(SmtpTls::Starttls);
    host_port(args.smtp_server.as_deref().unwrap_or(""), mode)?;
    if let Some(path) = &args.smtp_ca_file {
        ca_pem(path)?;
    }
    if args.smtp_user.is_some() {
        if mode == SmtpTls::None {
            return Err(NotifyError::Email(PLAINTEXT_PASSWORD.into()));
        }
        if !args.dry_run && secret_env(SMTP_PASSWORD_ENV).is_none() {
            return Err(NotifyError::Email(format!(
                "--smtp-user needs the password in {SMTP_PASSWORD_ENV}"
            )));
        }
    }
    Ok(())
}

/// The `--smtp-ca-file` PEM, checked to hold at least one certificate (lettre would accept
/// a file without any and silently trust nothing more).
fn ca_pem(path: &std::path::Path) -> Result<Vec<u8>, NotifyError> {
    let pem = std::fs::read(path).map_err(|e| {
        NotifyError::Email(format!(
            "cannot read --smtp-ca-file {}: {e}",
            path.display()
        ))
    })?;
    let certs = ureq::tls::parse_pem(&pem)
        .filter(|item| matches!(item, Ok(ureq::tls::PemItem::Certificate(_))))
        .count();
    if certs == 0 {
        return Err(NotifyError::Email(format!(
            "--smtp-ca-file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(pem)
}

const PLAINTEXT_PASSWORD: &str = "refusing to send the SMTP password unencrypted: drop --smtp-tls none (STARTTLS is the default) or --smtp-user";

fn mailbox(flag: &str, s: &str) -> Result<Mailbox, NotifyError> {
    s.parse().map_err(|e| {
        NotifyError::Email(format!(
            "{flag} `{s}` is not an email address ({e}): use alerts@example.com or \"Name <alerts@example.com>\""
        ))
    })
}

/// Sends the review, or with `--dry-run` prints the message's headers and size.
pub fn send(
    args: &NotifyArgs,
    analyzed: &AnalyzedReport,
    history: &History,
    timeout: Duration,
) -> Result<(), NotifyError> {
    let message = message(args, analyzed, history)?;
    if args.dry_run {
        let formatted = message.formatted();
        let text = String::from_utf8_lossy(&formatted);
        let headers: String = text
            .lines()
            .take_while(|l| !l.is_empty())
            .map(|l| format!("  {l}\n"))
            .collect();
        eprintln!(
            "dry run: this email ({} bytes, the Markdown review with alert-review.html attached) would go through {}:\n{headers}",
            formatted.len(),
            args.smtp_server.as_deref().unwrap_or("?"),
        );
        return Ok(());
    }
    let (transport, shown) = transport(args, timeout)?;
    transport.send(&message).map_err(|e| {
        // lettre's errors name the SMTP reply or the I/O failure, never the credentials.
        let hint = if e.is_permanent() {
            "\n  hint: a 535 reply means the server refused --smtp-user and SRE_SMTP_PASSWORD; 530/STARTTLS means it wants encryption"
        } else if e.is_timeout() {
            "\n  hint: check the host and port, and that the server is reachable (`nc -v HOST PORT`)"
        } else {
            ""
        };
        NotifyError::Email(format!("sending through {shown} failed: {e}{hint}"))
    })?;
    eprintln!("email: sent to {}", args.email_to.join(", "));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_and_ports() {
        let hp = |s| host_port(s, SmtpTls::Starttls).map_err(|e| e.to_string());
        assert_eq!(hp("smtp.example.com"), Ok(("smtp.example.com".into(), 587)));
        assert_eq!(
            hp("smtp.example.com:2525"),
            Ok(("smtp.example.com".into(), 2525))
        );
        assert_eq!(hp("[::1]:25"), Ok(("::1".into(), 25)));
        assert_eq!(hp("[::1]"), Ok(("::1".into(), 587)));
        assert_eq!(
            host_port("mx", SmtpTls::Tls).map_err(|e| e.to_string()),
            Ok(("mx".into(), 465))
        );
        for bad in ["", ":25", "mx:port", "::1:25", "[::1]x", "mx:0"] {
            assert!(hp(bad).is_err_and(|e| e.contains("HOST:PORT")), "{bad}");
        }
    }
}
