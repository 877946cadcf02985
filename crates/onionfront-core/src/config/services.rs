//! The `services:` list, Onionbalance's part of the file: each service's `key` and `instances`,
//! plus onionfront's per-service options (`health-check`, `authorized-clients`,
//! `intro-points-per-instance`, `distinct-descriptors`).

use std::collections::HashMap;
use std::time::Duration;

use super::clients::authorized_clients;
use super::error::{Position, Problem};
use super::fields::{self, Ctx, Fields};
use super::model::{HealthCheckConfig, InstanceConfig, ServiceConfig};
use super::sections::{MAX_INTRO_POINTS, distinct};
use super::yaml::{Kind, Node};
use crate::address::OnionAddress;

/// Where a service's parts are in the file, for checks made after loading its key.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServiceSpans {
    /// The `key:` value.
    pub key: Position,
    /// Each instance's `address:` value.
    pub instances: Vec<Position>,
}

/// Read `services:`.
pub(crate) fn services(
    ctx: &mut Ctx,
    node: &Node,
) -> Option<(Vec<ServiceConfig>, Vec<ServiceSpans>)> {
    let items = fields::list(ctx, node, "services")?;
    if items.is_empty() {
        ctx.invalid(
            node,
            "services",
            "no services: list at least one `- key: <key file>` with its `instances:`",
        );
        return None;
    }
    let mut out = Vec::new();
    let mut spans = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match service(ctx, item, &format!("services[{i}]")) {
            Some((s, sp)) => {
                out.push(s);
                spans.push(sp);
            }
            None => ok = false,
        }
    }
    ok.then_some((out, spans))
}

fn service(ctx: &mut Ctx, node: &Node, path: &str) -> Option<(ServiceConfig, ServiceSpans)> {
    const KEYS: &[&str] = &[
        "key",
        "instances",
        "health-check",
        "authorized-clients",
        "intro-points-per-instance",
        "distinct-descriptors",
    ];
    let mut f = Fields::new(ctx, node, path, KEYS)?;
    let mut ok = true;
    let mut spans = ServiceSpans::default();
    let key = f.require(ctx, "key").and_then(|n| {
        spans.key = n.pos;
        fields::path(ctx, n, &f.field("key"))
    });
    let instances = f.require(ctx, "instances").and_then(|n| {
        let r = instances(ctx, n, &f.field("instances"))?;
        spans.instances = r.1;
        Some(r.0)
    });
    let mut health_check = None;
    if let Some(n) = f.take("health-check") {
        match health(ctx, n, &f.field("health-check")) {
            Some(h) => health_check = Some(h),
            None => ok = false,
        }
    }
    let mut clients = Vec::new();
    if let Some(n) = f.take("authorized-clients") {
        match authorized_clients(ctx, n, &f.field("authorized-clients")) {
            Some(c) => clients = c,
            None => ok = false,
        }
    }
    let mut ipi = None;
    if let Some(n) = f.take("intro-points-per-instance") {
        match fields::integer(
            ctx,
            n,
            &f.field("intro-points-per-instance"),
            1,
            MAX_INTRO_POINTS,
        ) {
            Some(v) => ipi = u8::try_from(v).ok(),
            None => ok = false,
        }
    }
    let mut dd = None;
    if let Some(n) = f.take("distinct-descriptors") {
        match distinct(ctx, n, &f.field("distinct-descriptors")) {
            Some(v) => dd = Some(v),
            None => ok = false,
        }
    }
    f.finish(ctx);
    let service = ServiceConfig {
        key: key?,
        instances: instances?,
        health_check,
        authorized_clients: clients,
        intro_points_per_instance: ipi,
        distinct_descriptors: dd,
    };
    ok.then_some((service, spans))
}

fn instances(
    ctx: &mut Ctx,
    node: &Node,
    path: &str,
) -> Option<(Vec<InstanceConfig>, Vec<Position>)> {
    let items = fields::list(ctx, node, path)?;
    if items.is_empty() {
        ctx.bad(node, path, Problem::NoInstances);
        return None;
    }
    let mut out = Vec::new();
    let mut positions = Vec::new();
    let mut seen: HashMap<OnionAddress, usize> = HashMap::new();
    let mut ok = true;
    for (j, item) in items.iter().enumerate() {
        let ipath = format!("{path}[{j}]");
        let Some((inst, pos)) = instance(ctx, item, &ipath) else {
            ok = false;
            continue;
        };
        if let Some(first_line) = seen.get(&inst.address) {
            ctx.report(
                Some(pos),
                &format!("{ipath}.address"),
                Problem::DuplicateInstance {
                    address: inst.address.to_string(),
                    first_line: *first_line,
                },
            );
            ok = false;
            continue;
        }
        seen.insert(inst.address, pos.line);
        out.push(inst);
        positions.push(pos);
    }
    ok.then_some((out, positions))
}

/// One instance: `{address, name}`, or a bare address string.
fn instance(ctx: &mut Ctx, node: &Node, path: &str) -> Option<(InstanceConfig, Position)> {
    if matches!(node.kind, Kind::Scalar { .. }) && !node.is_null() {
        let address = address(ctx, node, path)?;
        return Some((
            InstanceConfig {
                address,
                name: None,
            },
            node.pos,
        ));
    }
    const KEYS: &[&str] = &["address", "name"];
    let mut f = Fields::new(ctx, node, path, KEYS)?;
    let addr_node = f.require(ctx, "address");
    let address = addr_node.and_then(|n| address(ctx, n, &f.field("address")));
    let name = match f.take("name") {
        // Onionbalance accepts `name:` with no value.
        Some(n) if n.is_null() => None,
        Some(n) => Some(fields::string(ctx, n, &f.field("name"))?),
        None => None,
    };
    f.finish(ctx);
    Some((
        InstanceConfig {
            address: address?,
            name,
        },
        addr_node?.pos,
    ))
}

fn address(ctx: &mut Ctx, node: &Node, field: &str) -> Option<OnionAddress> {
    let s = fields::string(ctx, node, field)?;
    let t = s.trim();
    if t.starts_with('<') && t.ends_with('>') {
        ctx.bad(node, field, Problem::Placeholder(t.to_string()));
        return None;
    }
    match t.parse::<OnionAddress>() {
        Ok(a) => Some(a),
        Err(e) => {
            ctx.bad(node, field, Problem::Address(e));
            None
        }
    }
}

fn health(ctx: &mut Ctx, node: &Node, path: &str) -> Option<HealthCheckConfig> {
    const KEYS: &[&str] = &["port", "interval", "failures", "timeout"];
    let mut f = Fields::new(ctx, node, path, KEYS)?;
    let port = f
        .require(ctx, "port")
        .and_then(|n| fields::integer(ctx, n, &f.field("port"), 1, 65535));
    let mut out = HealthCheckConfig {
        port: 0,
        interval: Duration::from_secs(30),
        failures: 3,
        timeout: Duration::from_secs(30),
    };
    let mut ok = true;
    if let Some(n) = f.take("interval") {
        match fields::duration(
            ctx,
            n,
            &f.field("interval"),
            Duration::from_secs(1),
            Duration::from_secs(24 * 3600),
        ) {
            Some(d) => out.interval = d,
            None => ok = false,
        }
    }
    if let Some(n) = f.take("failures") {
        match fields::integer(ctx, n, &f.field("failures"), 1, 1000) {
            Some(v) => out.failures = v as u32,
            None => ok = false,
        }
    }
    if let Some(n) = f.take("timeout") {
        match fields::duration(
            ctx,
            n,
            &f.field("timeout"),
            Duration::from_secs(1),
            Duration::from_secs(600),
        ) {
            Some(d) => out.timeout = d,
            None => ok = false,
        }
    }
    f.finish(ctx);
    out.port = u16::try_from(port?).ok()?;
    ok.then_some(out)
}
