import LBGroup
import Foundation
import Glibc

/// `GET /`: the status page, rendered on the server from a `StatusReport`. A small script (served at
/// `scriptPath`, so the page can forbid inline scripts) fetches the page every 2 s and swaps in its `<main>`,
/// keeping the scroll position; without scripts a meta refresh does the same. Every text that comes from
/// outside (a node's name, a probe's reason, which can quote a node's answer) is escaped.
enum StatusPage {
    static let scriptPath = "/status-page.js"
    static let refreshSeconds = 2

    /// No inline script, nothing from elsewhere: an injected tag could not run.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

    static let script = """
        // Re-renders the status page every \(refreshSeconds) s from the server's HTML, without a reload.
        (function () {
          var refreshes = 0;
          function refresh() {
            fetch(location.pathname, { cache: "no-store" })
              .then(function (response) { return response.text(); })
              .then(function (text) {
                var next = new DOMParser().parseFromString(text, "text/html").querySelector("main");
                if (next) {
                  document.querySelector("main").replaceWith(next);
                  refreshes += 1;
                  document.body.setAttribute("data-refreshes", String(refreshes));
                  document.body.classList.remove("stale");
                }
              })
              .catch(function () { document.body.classList.add("stale"); })
              .finally(function () { setTimeout(refresh, \(refreshSeconds * 1000)); });
          }
          setTimeout(refresh, \(refreshSeconds * 1000));
        })();

        """

    static func render(_ report: StatusReport) -> String {
        let now = report.generatedAt
        var html = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>tessera-lb</title>
            <noscript><meta http-equiv="refresh" content="\(refreshSeconds)"></noscript>
            <style>\(style)</style>
            <script src="\(scriptPath)" defer></script>
            </head>
            <body data-refreshes="0">
            <div class="stale-banner">Lost contact with the balancer: this page shows the last state it saw.</div>
            <main>

            """
        html += "<header><h1>tessera-lb</h1><p class=\"facts\">"
        html += [
            "\(report.engine) engine", "forward \(report.forward)", report.balance, "\(report.workers) workers",
            report.health ? "probes on" : "probes off", "version \(report.version)",
            "admin up \(duration(now.timeIntervalSince(report.startedAt)))",
        ].map(escape).joined(separator: " · ")
        html += "</p></header>\n"

        let c = report.connections
        let t = report.traffic
        html += "<section class=\"tiles\">"
        html += tile("open connections", "\(c.open)", "of \(c.max)")
        html += tile("accepted", "\(c.accepted)", String(format: "%.1f/s", c.acceptedPerSecond))
        html += tile("client → node", bytes(t.bytesUp), bytes(t.bytesUpPerSecond) + "/s")
        html += tile("node → client", bytes(t.bytesDown), bytes(t.bytesDownPerSecond) + "/s")
        html += tile("connect failures", "\(c.connectFailures)", "\(c.retries) retried, \(c.noNode) no node")
        html += "</section>\n"

        html += "<section><h2>Nodes</h2><table><thead><tr><th>node</th><th>host</th><th>state</th><th>why</th><th>since</th>"
        html += "<th class=\"n\">open</th><th class=\"n\">connections</th><th class=\"n\">client → node</th><th class=\"n\">node → client</th>"
        html += "<th class=\"n\">connect failures</th><th class=\"n\">changes</th><th>last good probe</th></tr></thead><tbody>\n"
        for node in report.nodes {
            let lastGood = node.probes.compactMap(\.lastGood).min()
            html += "<tr data-node=\"\(escape(node.name))\" data-state=\"\(node.state.rawValue)\">"
            html += "<td class=\"name\">\(escape(node.name))</td><td>\(escape(node.host))</td>"
            html += "<td>\(badge(node.state))</td><td class=\"why\">\(escape(node.reason))</td>"
            html += "<td>\(since(node.since, now: now))</td>"
            html += "<td class=\"n\">\(node.activeConnections)</td><td class=\"n\">\(node.traffic.connections)</td>"
            html += "<td class=\"n\">\(escape(bytes(node.traffic.bytesUp)))</td><td class=\"n\">\(escape(bytes(node.traffic.bytesDown)))</td>"
            html += "<td class=\"n\">\(node.connectFailures)</td>"
            html += "<td class=\"n\">\(node.stateChanges)</td>"
            html += "<td>\(report.health ? lastGood.map { escape(ago($0, now: now)) } ?? "never" : "probes off")</td></tr>\n"
        }
        html += "</tbody></table></section>\n"

        html += "<section><h2>Services</h2><table><thead><tr><th>service</th><th>listens on</th><th class=\"n\">node port</th>"
        html += "<th>nodes</th></tr></thead><tbody>\n"
        for service in report.services {
            let warning = service.available == 0 ? " none" : ""
            html += "<tr data-service=\"\(escape(service.name))\"><td class=\"name\">\(escape(service.name))</td>"
            html += "<td>\(escape(service.listen))</td><td class=\"n\">\(service.nodePort)</td><td>"
            html += "<span class=\"available\(warning)\">\(service.available) of \(service.nodes.count) taking connections</span> "
            html += service.nodes.map { node in
                "<span class=\"chip\" title=\"\(escape(node.reason))\">\(escape(node.name)) \(badge(node.state))</span>"
            }.joined(separator: " ")
            html += "</td></tr>\n"
        }
        html += "</tbody></table></section>\n"

        html += "<section><h2>Group</h2>"
        if !report.group.enabled {
            html += "<p class=\"quiet\">The group check is off.</p>"
        } else if report.group.checkedAt == nil {
            html += "<p class=\"quiet\">Not checked yet.</p>"
        } else if report.group.consistent {
            html += "<p class=\"group consistent\">The nodes agree on their keys, version and partyinfo"
            html += " <span class=\"quiet\">(checked \(escape(ago(report.group.checkedAt!, now: now))))</span>.</p>"
        } else {
            html += "<table class=\"group inconsistent\"><thead><tr><th>node</th><th>problem</th><th>detail</th></tr></thead><tbody>\n"
            for problem in report.group.problems {
                html += "<tr><td class=\"name\">\(escape(problem.node))</td><td>\(escape(problem.problem.rawValue))</td>"
                html += "<td class=\"why\">\(escape(problem.detail))</td></tr>\n"
            }
            html += "</tbody></table>"
        }
        let mirror = report.mirror
        if mirror.enabled {
            html += "<p class=\"mirror\">Partyinfo mirroring: \(mirror.requests) requests, \(mirror.copies) copies sent, "
            html += "\(mirror.failed) failed, \(mirror.dropped) dropped; \(mirror.unframed) P2P connections not plain HTTP (TLS...), not mirrored.</p>"
        } else {
            html += "<p class=\"quiet\">Partyinfo mirroring is off.</p>"
        }
        html += "</section>\n"

        html += "<section><h2>Recent transitions</h2>"
        if report.transitions.isEmpty {
            html += "<p class=\"quiet\">None since the admin listener started.</p>"
        } else {
            html += "<table><thead><tr><th>when</th><th>node</th><th>change</th><th>why</th></tr></thead><tbody>\n"
            for change in report.transitions {
                let node = change.service.map { "\(change.node) (\($0))" } ?? change.node
                html += "<tr class=\"transition\"><td title=\"\(iso(change.at))\">\(escape(clock(change.at))) <span class=\"quiet\">\(escape(ago(change.at, now: now)))</span></td>"
                html += "<td class=\"name\">\(escape(node))</td><td>\(badge(change.from)) → \(badge(change.to))</td>"
                html += "<td class=\"why\">\(escape(change.reason))</td></tr>\n"
            }
            html += "</tbody></table>"
        }
        html += "</section>\n"
        html += "<footer>Updated \(escape(clock(now))) · refreshes every \(refreshSeconds) s · "
        html += "<a href=\"/status\">/status</a> (JSON) · <a href=\"/metrics\">/metrics</a> (Prometheus)</footer>\n"
        html += "</main>\n</body>\n</html>\n"
        return html
    }

    // MARK: - Pieces

    private static func tile(_ label: String, _ value: String, _ detail: String) -> String {
        "<div class=\"tile\"><div class=\"label\">\(escape(label))</div><div class=\"value\">\(escape(value))</div>"
            + "<div class=\"detail\">\(escape(detail))</div></div>"
    }

    private static func badge(_ state: NodeStateName) -> String {
        "<span class=\"badge \(state.rawValue)\">\(state.rawValue)</span>"
    }

    private static func since(_ date: Date, now: Date) -> String {
        "<span title=\"\(iso(date))\">\(escape(clock(date)))</span> <span class=\"quiet\">\(escape(ago(date, now: now)))</span>"
    }

    /// HTML text and attribute escaping.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        if s < 86400 { return "\(s / 3600) h \(s % 3600 / 60) min" }
        return "\(s / 86400) d \(s % 86400 / 3600) h"
    }

    static func ago(_ date: Date, now: Date) -> String {
        "\(duration(now.timeIntervalSince(date))) ago"
    }

    static func bytes(_ value: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = value
        var unit = 0
        while v >= 1024 && unit < units.count - 1 {
            v /= 1024
            unit += 1
        }
        return unit == 0 ? "\(Int(v)) B" : String(format: "%.1f", v) + " " + units[unit]
    }

    static func bytes(_ value: Int) -> String { bytes(Double(value)) }

    /// Local wall-clock time of day, as the operator's log lines show it.
    private static func clock(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        localtime_r(&t, &parts)
        return String(format: "%02d:%02d:%02d", parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    private static func iso(_ date: Date) -> String { date.formatted(.iso8601) }

    private static let style = """
        :root { --up: #1a7f37; --down: #cf222e; --failed: #bc4c00; --draining: #9a6700; --disabled: #57606a; }
        * { box-sizing: border-box; }
        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
        main { max-width: 1200px; margin: 0 auto; padding: 16px 24px 32px; }
        header { display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap; }
        h1 { font-size: 22px; margin: 0; }
        h2 { font-size: 15px; margin: 24px 0 8px; text-transform: uppercase; letter-spacing: .04em; color: #57606a; }
        .facts { color: #57606a; margin: 0; }
        .tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; margin-top: 16px; }
        .tile { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 14px; }
        .tile .label { color: #57606a; font-size: 12px; }
        .tile .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
        .tile .detail { color: #57606a; font-size: 12px; }
        table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid #d0d7de; border-radius: 8px; overflow: hidden; }
        th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
        th { font-size: 12px; color: #57606a; font-weight: 600; background: #f6f8fa; }
        tr:last-child td { border-bottom: none; }
        .n { text-align: right; font-variant-numeric: tabular-nums; }
        .name { font-weight: 600; }
        .why { color: #424a53; max-width: 360px; overflow-wrap: anywhere; }
        .quiet { color: #6e7781; font-size: 12px; }
        .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; }
        .badge.up { background: var(--up); } .badge.down { background: var(--down); }
        .badge.failed-out { background: var(--failed); } .badge.draining { background: var(--draining); }
        .badge.disabled { background: var(--disabled); }
        .chip { margin-right: 10px; white-space: nowrap; }
        .available { margin-right: 12px; color: #57606a; } .available.none { color: var(--down); font-weight: 600; }
        footer { margin-top: 20px; color: #6e7781; font-size: 12px; }
        a { color: #0969da; }
        .stale-banner { display: none; background: var(--down); color: #fff; padding: 6px 24px; font-weight: 600; }
        body.stale .stale-banner { display: block; }
        """
}
