//! `authorized-clients:` of a service (restricted discovery): x25519 public keys in C tor's
//! `.auth` line format, `descriptor:x25519:<52 base32 characters>`, given as plain strings or as
//! `{name: alice, key: "descriptor:x25519:..."}`.

use super::error::Problem;
use super::fields::{self, Ctx, Fields};
use super::model::AuthorizedClient;
use super::yaml::{Kind, Node};

/// The 32-byte x25519 public key of a C tor `.auth` line, or what is wrong with it.
pub fn parse_client_key(line: &str) -> Result<[u8; 32], String> {
    let line = line.trim();
    let expected = "expected `descriptor:x25519:<52 base32 characters>` (a C tor .auth line)";
    let mut parts = line.splitn(3, ':');
    let (Some(auth), Some(kind), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("{expected}, found `{line}`"));
    };
    if auth != "descriptor" {
        return Err(format!(
            "the auth type is `{auth}`, only `descriptor` is supported; {expected}"
        ));
    }
    if kind != "x25519" {
        return Err(format!(
            "the key type is `{kind}`, only `x25519` is supported; {expected}"
        ));
    }
    let key = key.trim().to_ascii_uppercase();
    if key.len() != 52 {
        return Err(format!(
            "the x25519 key must be 52 base32 characters, found {}",
            key.len()
        ));
    }
    let bytes = data_encoding::BASE32_NOPAD
        .decode(key.as_bytes())
        .map_err(|_| "the x25519 key is not base32 (A-Z, 2-7)".to_string())?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| "the x25519 key is not 32 bytes".to_string())
}

/// Read `authorized-clients:` at `field`.
pub(crate) fn authorized_clients(
    ctx: &mut Ctx,
    node: &Node,
    field: &str,
) -> Option<Vec<AuthorizedClient>> {
    let items = fields::list(ctx, node, field)?;
    let mut out: Vec<AuthorizedClient> = Vec::new();
    let mut lines: Vec<usize> = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let path = format!("{field}[{i}]");
        let Some((name, key_node, key_field)) = entry(ctx, item, &path, field, i) else {
            ok = false;
            continue;
        };
        let Some(text) = fields::string(ctx, key_node, &key_field) else {
            ok = false;
            continue;
        };
        let key = match parse_client_key(&text) {
            Ok(k) => k,
            Err(e) => {
                ctx.invalid(key_node, &key_field, e);
                ok = false;
                continue;
            }
        };
        if let Some(j) = out.iter().position(|c| c.key == key) {
            ctx.invalid(
                key_node,
                &key_field,
                format!("the same key as {field}[{j}] (line {})", lines[j]),
            );
            ok = false;
            continue;
        }
        if let Some(j) = out.iter().position(|c| c.name == name) {
            ctx.bad(
                item,
                &path,
                Problem::Invalid(format!("the name `{name}` is already used by {field}[{j}]")),
            );
            ok = false;
            continue;
        }
        out.push(AuthorizedClient { name, key });
        lines.push(item.pos.line);
    }
    ok.then_some(out)
}

/// The name, the key node and the key's field path of one entry.
fn entry<'n>(
    ctx: &mut Ctx,
    item: &'n Node,
    path: &str,
    field: &str,
    i: usize,
) -> Option<(String, &'n Node, String)> {
    if let Kind::Scalar { .. } = item.kind {
        return Some((format!("{field}[{i}]"), item, path.to_string()));
    }
    if !matches!(item.kind, Kind::Map(_)) {
        ctx.wrong_type(
            item,
            path,
            "a `descriptor:x25519:...` string or a `{name: ..., key: ...}` mapping",
        );
        return None;
    }
    const KEYS: &[&str] = &["name", "key"];
    let mut f = Fields::new(ctx, item, path, KEYS)?;
    let name = match f.take("name") {
        Some(n) => fields::string(ctx, n, &f.field("name")),
        None => Some(format!("{field}[{i}]")),
    };
    let key = f.require(ctx, "key");
    let key_field = f.field("key");
    f.finish(ctx);
    Some((name?, key?, key_field))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const KEY: &str = "descriptor:x25519:ZPRRMIV6DV6SJFL7SFBSVLJ5VUNPGCDFEVZ7M23LTLVTCCXJQBKA";

    #[test]
    fn parses_ctor_auth_lines() {
        let k = parse_client_key(KEY).unwrap();
        assert_eq!(parse_client_key(&KEY.to_lowercase()).unwrap(), k);
        // Same as Arti's parser.
        let arti: tor_hscrypto::pk::HsClientDescEncKey = KEY.parse().unwrap();
        assert_eq!(arti.as_ref().to_bytes(), k);
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_client_key("ZPRR").unwrap_err(),
            "expected `descriptor:x25519:<52 base32 characters>` (a C tor .auth line), found `ZPRR`"
        );
        assert!(
            parse_client_key("intro:x25519:AAAA")
                .unwrap_err()
                .starts_with("the auth type is `intro`")
        );
        assert!(
            parse_client_key("descriptor:ed25519:AAAA")
                .unwrap_err()
                .starts_with("the key type is `ed25519`")
        );
        assert_eq!(
            parse_client_key("descriptor:x25519:AAAA").unwrap_err(),
            "the x25519 key must be 52 base32 characters, found 4"
        );
        assert_eq!(
            parse_client_key(&KEY.replace('Z', "1")).unwrap_err(),
            "the x25519 key is not base32 (A-Z, 2-7)"
        );
    }
}
