/* The report's page (see report.h): HTML around the data, with its CSS and the script that
 * draws the hop graph (SVG), the timelines and the alert list from the data. The data is the
 * only part made from the input, and it is JSON in a <script type="application/json">
 * element, escaped so it cannot end it (report_json.c); the script reads it with JSON.parse and
 * puts every string on the page as text (textContent, setAttribute of its own ids only), never
 * as markup. The Content-Security-Policy allows nothing but this CSS and this script, pinned
 * by their SHA-256 (computed here from the very bytes written): no fetch of any kind, no other
 * script even if one were smuggled in, no inline style attribute. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ir/report.h"
#include "ir/report_int.h"

/* --- SHA-256 (FIPS 180-4) and base64, for the CSP's hashes ------------------------------------ */

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n)
{
	return x >> n | x << (32 - n);
}

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], v[8];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3;
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10;

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(v, h, sizeof(v));
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) +
			      ((v[4] & v[5]) ^ (~v[4] & v[6])) + K[i] + w[i];
		uint32_t t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) +
			      ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));

		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		h[i] += v[i];
}

static void sha256(const unsigned char *s, size_t len, unsigned char out[32])
{
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	unsigned char last[128] = {0};
	size_t full = len / 64 * 64, rest = len - full, nlast = rest < 56 ? 64 : 128;
	unsigned long long bits = (unsigned long long)len * 8;

	for (size_t i = 0; i < full; i += 64)
		sha256_block(h, s + i);
	memcpy(last, s + full, rest);
	last[rest] = 0x80;
	for (int i = 0; i < 8; i++)
		last[nlast - 1 - i] = (unsigned char)(bits >> (8 * i));
	for (size_t i = 0; i < nlast; i += 64)
		sha256_block(h, last + i);
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 4; j++)
			out[4 * i + j] = (unsigned char)(h[i] >> (24 - 8 * j));
}

void hw_report__csp_hash(const char *s, size_t len, char *out, size_t outlen)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char d[33] = {0};
	char enc[48];
	size_t k = 0;

	sha256((const unsigned char *)s, len, d);
	for (size_t i = 0; i < 32; i += 3) {
		unsigned int v = (unsigned int)d[i] << 16 | (unsigned int)d[i + 1] << 8 |
				 (i + 2 < 32 ? d[i + 2] : 0);

		enc[k++] = b64[v >> 18 & 63];
		enc[k++] = b64[v >> 12 & 63];
		enc[k++] = i + 1 < 32 ? b64[v >> 6 & 63] : '=';
		enc[k++] = i + 2 < 32 ? b64[v & 63] : '=';
	}
	enc[k] = 0;
	snprintf(out, outlen, "sha256-%s", enc);
}

/* --- the page ------------------------------------------------------------------------------ */

static const char css[] =
    "\n:root{--fg:#1d2330;--mute:#5b6475;--line:#c9cfda;--bg:#fff;--alert:#c62828;"
    "--hi:#fff3cd}\n"
    "body{font:14px/1.4 system-ui,sans-serif;color:var(--fg);background:var(--bg);"
    "margin:0 auto;max-width:1400px;padding:0 20px 40px}\n"
    "h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;margin:28px 0 8px;"
    "border-bottom:1px solid var(--line)}h3{font-size:15px;margin:20px 0 4px}\n"
    ".mute,.detail{color:var(--mute)}.mono,td.text{font-family:ui-monospace,monospace;"
    "white-space:pre-wrap;word-break:break-all}\n"
    "#graph{overflow:auto;border:1px solid var(--line);border-radius:6px}\n"
    "svg text{font:12px system-ui,sans-serif;fill:var(--fg)}\n"
    "g.node rect{fill:#e8f0fe;stroke:#3b6fd8;stroke-width:1.5}\n"
    "g.node.address rect{fill:#f3f3f3;stroke:#888;stroke-dasharray:4 3}\n"
    "g.node text{font-weight:600}\n"
    "g.edge path{fill:none;stroke:#4a5468;stroke-width:1.6}\n"
    "g.edge text{fill:var(--mute);font-size:11px}\n"
    "g.edge.alerted path{stroke:var(--alert);stroke-width:2.6}\n"
    "g.edge.alerted text{fill:var(--alert)}\n"
    "g.edge.failed path{stroke-dasharray:6 4}\n"
    "g.edge:target path,g.edge.focus path{stroke-width:5}\n"
    "table{border-collapse:collapse;width:100%}td,th{text-align:left;vertical-align:top;"
    "padding:3px 8px;border-bottom:1px solid #eef0f4}th{color:var(--mute);font-weight:600}\n"
    "td.time{white-space:nowrap;font-family:ui-monospace,monospace;font-size:12px}\n"
    "tr.alert td,tr.sev-critical td.sev,tr.sev-high td.sev{color:var(--alert)}\n"
    "tr.ev-hop td.kind{font-weight:700}tr.ev-alert td{color:var(--alert)}\n"
    "tr:target,section:target{background:var(--hi)}\n"
    "a.ref{margin-right:8px}\n"
    "section.session{border-left:3px solid var(--line);padding-left:12px;margin:14px 0}\n"
    "section.session.alerted{border-left-color:var(--alert)}\n";

static const char js[] =
    "\n\"use strict\";\n"
    "(function () {\n"
    "var D = JSON.parse(document.getElementById(\"hw-data\").textContent);\n"
    "var SVG = \"http://www.w3.org/2000/svg\";\n"
    "function h(tag, cls, text) {\n"
    "  var e = document.createElement(tag);\n"
    "  if (cls) e.className = cls;\n"
    "  if (text !== undefined && text !== null) e.textContent = String(text);\n"
    "  return e;\n"
    "}\n"
    "function sv(tag, attrs) {\n"
    "  var e = document.createElementNS(SVG, tag);\n"
    "  Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });\n"
    "  return e;\n"
    "}\n"
    "/* only the page's own ids (s3, e12, a7) ever become an id or a link */\n"
    "function ok(id) { return typeof id === \"string\" && /^[nesa][0-9]+$/.test(id); }\n"
    "function link(id, text) {\n"
    "  var a = h(\"a\", \"ref\", text);\n"
    "  if (ok(id)) a.setAttribute(\"href\", \"#\" + id);\n"
    "  return a;\n"
    "}\n"
    "function pick(v, allowed, dflt) { return allowed.indexOf(v) >= 0 ? v : dflt; }\n"
    "function hms(t) { return t ? t.substring(11, 19) : \"\"; }\n"
    "function cut(s, n) { s = String(s); return s.length > n ? s.substring(0, n - 1) + "
    "\"\\u2026\" : s; }\n"
    "function td(tr, cls, text) { var c = h(\"td\", cls, text); tr.appendChild(c); "
    "return c; }\n"
    "var nodes = {}, sessions = {};\n"
    "D.nodes.forEach(function (n, i) { nodes[n.id] = {n: n, i: i, depth: 0}; });\n"
    "D.sessions.forEach(function (s) { sessions[s.id] = s; });\n"
    "var hops = D.edges.filter(function (e) { return e.source_session !== null || "
    "e.method === \"hop-chain\"; }).length;\n"
    "document.getElementById(\"summary\").textContent = D.hosts + \" hosts, \" + "
    "D.sessions.length + \" sessions, \" + hops + \" hops, \" + D.alerts.length + \" alerts "
    "(times in UTC)\";\n"
    "/* the graph: a column per depth (longest path from a node nothing reaches) */\n"
    "var N = D.nodes.length;\n"
    "for (var round = 0; round < N; round++) {\n"
    "  var moved = false;\n"
    "  D.edges.forEach(function (e) {\n"
    "    var a = nodes[e.from], b = nodes[e.to];\n"
    "    if (a && b && a !== b && b.depth < a.depth + 1 && a.depth + 1 < N) {\n"
    "      b.depth = a.depth + 1; moved = true;\n"
    "    }\n"
    "  });\n"
    "  if (!moved) break;\n"
    "}\n"
    "var cols = [];\n"
    "D.nodes.forEach(function (n) { var d = nodes[n.id].depth; (cols[d] = cols[d] || [])"
    ".push(nodes[n.id]); });\n"
    "var W = 170, H = 44, CW = 330, RH = 130, M = 40, maxRows = 1;\n"
    "cols.forEach(function (c, d) {\n"
    "  c = c || [];\n"
    "  c.sort(function (a, b) { return a.n.label < b.n.label ? -1 : a.n.label > b.n.label ? 1 "
    ": a.i - b.i; });\n"
    "  c.forEach(function (x, r) { x.x = M + d * CW; x.y = M + 30 + r * RH; });\n"
    "  maxRows = Math.max(maxRows, c.length);\n"
    "});\n"
    "var svg = sv(\"svg\", {width: M * 2 + Math.max(cols.length - 1, 0) * CW + W, "
    "height: M * 2 + 30 + maxRows * RH, role: \"img\"});\n"
    "svg.appendChild(sv(\"title\", {})).textContent = \"hop graph\";\n"
    "var defs = svg.appendChild(sv(\"defs\", {}));\n"
    "[[\"arrow\", \"#4a5468\"], [\"arrow-alert\", \"#c62828\"]].forEach(function (m) {\n"
    "  var mk = defs.appendChild(sv(\"marker\", {id: m[0], viewBox: \"0 0 10 10\", refX: 10, "
    "refY: 5, markerWidth: 7, markerHeight: 7, orient: \"auto-start-reverse\"}));\n"
    "  mk.appendChild(sv(\"path\", {d: \"M0,0 L10,5 L0,10 z\", fill: m[1]}));\n"
    "});\n"
    "var pairs = {};\n"
    "D.edges.forEach(function (e) { var k = e.from + \">\" + e.to; pairs[k] = (pairs[k] || 0) "
    "+ 1; });\n"
    "var seen = {}, edgeLayer = svg.appendChild(sv(\"g\", {\"class\": \"edges\"}));\n"
    "D.edges.forEach(function (e) {\n"
    "  var a = nodes[e.from], b = nodes[e.to];\n"
    "  if (!a || !b || !ok(e.id)) return;\n"
    "  var k = e.from + \">\" + e.to, m = pairs[k], j = seen[k] = (seen[k] || 0) + 1;\n"
    "  var back = pairs[e.to + \">\" + e.from] ? 1 : 0;\n"
    "  var x1 = a.x + W / 2, y1 = a.y + H / 2, x2 = b.x + W / 2, y2 = b.y + H / 2, d;\n"
    "  var lx, ly;\n"
    "  if (a === b) {\n"
    "    var r = 26 + 14 * j;\n"
    "    d = \"M\" + (x1 - 20) + \",\" + a.y + \" C\" + (x1 - r) + \",\" + (a.y - 2 * r) + \" \" "
    "+ (x1 + r) + \",\" + (a.y - 2 * r) + \" \" + (x1 + 20) + \",\" + a.y;\n"
    "    lx = x1; ly = a.y - 1.5 * r;\n"
    "  } else {\n"
    "    var dx = x2 - x1, dy = y2 - y1, len = Math.sqrt(dx * dx + dy * dy) || 1;\n"
    "    var ux = dx / len, uy = dy / len;\n"
    "    var ra = Math.min(W / 2 / (Math.abs(ux) || 1e-9), H / 2 / (Math.abs(uy) || 1e-9));\n"
    "    var sx = x1 + ux * ra, sy = y1 + uy * ra, ex = x2 - ux * ra, ey = y2 - uy * ra;\n"
    "    var off = (j - (m + 1) / 2) * 46 + (back ? 24 : 0);\n"
    "    var cx = (sx + ex) / 2 - uy * off, cy = (sy + ey) / 2 + ux * off;\n"
    "    d = \"M\" + sx + \",\" + sy + \" Q\" + cx + \",\" + cy + \" \" + ex + \",\" + ey;\n"
    "    lx = 0.25 * sx + 0.5 * cx + 0.25 * ex; ly = 0.25 * sy + 0.5 * cy + 0.25 * ey;\n"
    "  }\n"
    "  var g = sv(\"g\", {\"class\": \"edge\" + (e.alerted ? \" alerted\" : \"\") + (e.failed ? "
    "\" failed\" : \"\"), id: e.id});\n"
    "  var how = e.method + (e.via ? \" via \" + e.via : \"\");\n"
    "  g.appendChild(sv(\"title\", {})).textContent = (e.user || \"?\") + \", \" + e.time + "
    "\" UTC, \" + how + (e.alerts.length ? \", \" + e.alerts.length + \" alerts\" : \"\");\n"
    "  g.appendChild(sv(\"path\", {d: d, \"marker-end\": e.alerted ? \"url(#arrow-alert)\" : "
    "\"url(#arrow)\"}));\n"
    "  var t = g.appendChild(sv(\"text\", {x: lx, y: ly - 20, \"text-anchor\": \"middle\"}));\n"
    "  t.appendChild(sv(\"tspan\", {x: lx, dy: 0, \"class\": \"who\"})).textContent = "
    "cut(e.user || \"?\", 24) + \" \" + hms(e.time);\n"
    "  t.appendChild(sv(\"tspan\", {x: lx, dy: 13, \"class\": \"how\"})).textContent = "
    "cut(how, 34);\n"
    "  var target = ok(e.session) ? e.session : ok(e.source_session) ? e.source_session : "
    "null;\n"
    "  if (target) { var al = sv(\"a\", {href: \"#\" + target}); al.appendChild(g); "
    "edgeLayer.appendChild(al); } else edgeLayer.appendChild(g);\n"
    "});\n"
    "D.nodes.forEach(function (n) {\n"
    "  var x = nodes[n.id];\n"
    "  if (!ok(n.id)) return;\n"
    "  var g = svg.appendChild(sv(\"g\", {\"class\": \"node \" + pick(n.kind, [\"host\", "
    "\"address\"], \"address\"), id: n.id}));\n"
    "  g.appendChild(sv(\"title\", {})).textContent = n.label + (n.host_id ? \" (host.id \" + "
    "n.host_id + \")\" : \" (no agent)\");\n"
    "  g.appendChild(sv(\"rect\", {x: x.x, y: x.y, width: W, height: H, rx: 8}));\n"
    "  g.appendChild(sv(\"text\", {x: x.x + W / 2, y: x.y + H / 2 + 4, \"text-anchor\": "
    "\"middle\"})).textContent = cut(n.label, 22);\n"
    "});\n"
    "document.getElementById(\"graph\").appendChild(svg);\n"
    "/* the alerts */\n"
    "var SEV = [\"low\", \"medium\", \"high\", \"critical\"];\n"
    "var at = document.getElementById(\"alert-rows\");\n"
    "D.alerts.forEach(function (a) {\n"
    "  if (!ok(a.id)) return;\n"
    "  var tr = h(\"tr\", \"alert sev-\" + pick(a.severity, SEV, \"unknown\"));\n"
    "  tr.id = a.id;\n"
    "  td(tr, \"time\", a.time);\n"
    "  td(tr, \"sev\", a.severity);\n"
    "  td(tr, \"rule\", a.rule);\n"
    "  td(tr, \"host\", a.host);\n"
    "  td(tr, \"user\", a.user);\n"
    "  td(tr, \"text\", a.message);\n"
    "  var l = td(tr, \"links\");\n"
    "  if (ok(a.session)) l.appendChild(link(a.session, \"session\"));\n"
    "  a.edges.forEach(function (e, i) { l.appendChild(link(e, \"hop \" + (i + 1))); });\n"
    "  at.appendChild(tr);\n"
    "});\n"
    "if (!D.alerts.length) at.appendChild(h(\"tr\")).appendChild(h(\"td\", \"mute\", "
    "\"no alerts\"));\n"
    "/* the sessions, each a timeline */\n"
    "var KINDS = [\"login\", \"exec\", \"connect\", \"hop\", \"alert\", \"logout\"];\n"
    "var box = document.getElementById(\"sessions\");\n"
    "D.sessions.forEach(function (s) {\n"
    "  if (!ok(s.id)) return;\n"
    "  var alerted = s.events.some(function (v) { return v.kind === \"alert\"; });\n"
    "  var sec = h(\"section\", \"session\" + (alerted ? \" alerted\" : \"\"));\n"
    "  sec.id = s.id;\n"
    "  sec.appendChild(h(\"h3\", \"\", s.host + \": \" + s.user + \" from \" + s.source + \", \" "
    "+ s.start + (s.open ? \" (still open)\" : \" to \" + s.end)));\n"
    "  var p = sec.appendChild(h(\"p\", \"mute\"));\n"
    "  p.appendChild(document.createTextNode(s.service + (s.auth ? \" \" + s.auth : \"\") + "
    "\", session \" + s.sid + (s.before_agent ? \", open before the agent started\" : \"\") + "
    "\" \"));\n"
    "  var e = D.edges[Number(String(s.edge).substring(1))];\n"
    "  if (ok(s.edge)) p.appendChild(link(s.edge, \"its arrow\"));\n"
    "  if (e && ok(e.source_session)) p.appendChild(link(e.source_session, \"the session it "
    "came from\"));\n"
    "  var tb = sec.appendChild(h(\"table\", \"timeline\"));\n"
    "  s.events.forEach(function (v) {\n"
    "    var tr = tb.appendChild(h(\"tr\", \"ev-\" + pick(v.kind, KINDS, \"other\")));\n"
    "    td(tr, \"time\", v.time);\n"
    "    td(tr, \"kind\", v.kind);\n"
    "    td(tr, \"text\", v.text);\n"
    "    var c = td(tr, \"detail\", v.detail);\n"
    "    if (ok(v.ref)) { c.appendChild(document.createTextNode(\" \")); "
    "c.appendChild(link(v.ref, v.kind === \"alert\" ? \"alert\" : \"arrow\")); }\n"
    "  });\n"
    "  if (s.truncated) sec.appendChild(h(\"p\", \"mute\", \"more processes, connections or "
    "events than the report keeps: the rest is left out\"));\n"
    "  box.appendChild(sec);\n"
    "});\n"
    "if (!D.sessions.length) box.appendChild(h(\"p\", \"mute\", \"no remote session in the "
    "input\"));\n"
    "document.documentElement.setAttribute(\"data-hw-drawn\", String(D.nodes.length));\n"
    "})();\n";

int hw_report__page(FILE *out, struct hw_ir_session *const *v, size_t n, struct hw_report *r)
{
	char script_hash[64], style_hash[64];
	int err;

	hw_report__csp_hash(js, sizeof(js) - 1, script_hash, sizeof(script_hash));
	hw_report__csp_hash(css, sizeof(css) - 1, style_hash, sizeof(style_hash));
	fprintf(out,
		"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		"script-src '%s'; style-src '%s'; img-src 'none'; connect-src 'none'; "
		"base-uri 'none'; form-action 'none'\">\n"
		"<meta name=\"referrer\" content=\"no-referrer\">\n"
		"<meta name=\"generator\" content=\"hopwatch report\">\n"
		"<title>hopwatch report</title>\n<style>%s</style>\n</head>\n<body>\n"
		"<h1>hopwatch report</h1>\n<p id=\"summary\" class=\"mute\"></p>\n"
		"<noscript><p>This page draws its hop graph, timelines and alert list with its own "
		"inline script, which fetches nothing: allow JavaScript for this file. The data is "
		"the JSON in the element hw-data of the page's source.</p></noscript>\n"
		"<h2>Hop graph</h2>\n<p class=\"mute\">Hosts (boxes) and addresses without an "
		"agent in the input (dashed); an arrow per login and per hop: user, time, method; "
		"red: alerted. An arrow leads to its session.</p>\n<div id=\"graph\"></div>\n"
		"<h2>Alerts</h2>\n<table id=\"alerts\"><thead><tr><th>time</th><th>severity</th>"
		"<th>rule</th><th>host</th><th>user</th><th>message</th><th>links</th></tr>"
		"</thead><tbody id=\"alert-rows\"></tbody></table>\n"
		"<h2>Sessions</h2>\n<div id=\"sessions\"></div>\n"
		"<script type=\"application/json\" id=\"hw-data\">",
		script_hash, style_hash, css);
	err = hw_report__data(out, v, n, r);
	if (err)
		return err;
	fprintf(out, "</script>\n<script>%s</script>\n</body>\n</html>\n", js);
	return ferror(out) ? -EIO : 0;
}
