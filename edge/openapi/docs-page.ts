// The browsable API reference at /docs: rendered on the server from the OpenAPI document into one
// self-contained HTML page (no script, no CDN), so it works offline and under a strict CSP.
import { createHash } from "node:crypto";
import type { OpenApiDocument } from "./document";

const esc = (v: unknown) => String(v).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
const pretty = (v: unknown) => `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`;

const style = `
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d1d1f;display:flex}
nav{width:260px;flex:none;height:100vh;overflow:auto;position:sticky;top:0;background:#f5f5f7;padding:16px;box-sizing:border-box}
nav a{display:block;color:#1d1d1f;text-decoration:none;font-size:13px;padding:2px 0;word-break:break-all}
main{flex:1;padding:24px 32px;max-width:1000px}
h1{margin-top:0}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px;text-transform:capitalize}
details{border:1px solid #ddd;border-radius:6px;margin:8px 0}summary{cursor:pointer;padding:8px 12px;font-family:ui-monospace,monospace}
details>div{padding:0 16px 12px}.m{display:inline-block;width:64px;font-weight:700}
.get{color:#0a7d32}.post{color:#0b5cad}.put{color:#8a5a00}.patch{color:#8a5a00}.delete{color:#b3261e}
.who{float:right;font-family:system-ui;font-size:12px;color:#555}
pre{background:#f5f5f7;padding:8px;border-radius:4px;overflow:auto;font-size:12px;max-height:360px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
`;

/** The parts of a described operation the page shows (the document's own shape, see document.ts). */
type Described = {
  operationId: string;
  summary?: string;
  description?: string;
  tags?: string[];
  "x-roles"?: string | string[];
  parameters?: { name: string; in: string; required?: boolean; schema: unknown; description?: string }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
};

/** The page and the Content-Security-Policy that admits exactly its one style block. */
export function docsPage(doc: OpenApiDocument): { html: string; csp: string } {
  const byTag = new Map<string, string[]>();
  const nav: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops) as [string, Described][]) {
      const id = esc(op.operationId);
      const params = op.parameters ?? [];
      const body = op.requestBody?.content?.["application/json"]?.schema;
      const responses = Object.entries(op.responses)
        .map(([status, r]) => {
          const content = r.content ? Object.values(r.content)[0]?.schema : undefined;
          return `<tr><td>${esc(status)}</td><td>${esc(r.description)}${content && Number(status) < 400 ? pretty(content) : ""}</td></tr>`;
        })
        .join("");
      const who = Array.isArray(op["x-roles"]) ? op["x-roles"].join(", ") : op["x-roles"];
      const html = `<details id="${id}"><summary><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span>${esc(path)} <span class="who">${esc(who)}</span></summary><div>
<p>${esc(op.summary)}</p>${op.description ? `<p>${esc(op.description).replaceAll("\n\n", "</p><p>")}</p>` : ""}
${params.length ? `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>schema</th></tr>${params.map((p) => `<tr><td>${esc(p.name)}</td><td>${esc(p.in)}</td><td>${p.required ? "yes" : "no"}</td><td><code>${esc(JSON.stringify(p.schema))}</code>${p.description ? ` ${esc(p.description)}` : ""}</td></tr>`).join("")}</table>` : ""}
${body ? `<h4>Request body (application/json)</h4>${pretty(body)}` : ""}
<h4>Responses</h4><table>${responses}</table></div></details>`;
      const tag = op.tags?.[0] ?? "other";
      byTag.set(tag, [...(byTag.get(tag) ?? []), html]);
      nav.push(`<a href="#${id}">${esc(method.toUpperCase())} ${esc(path)}</a>`);
    }
  }
  const sections = [...byTag]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([tag, ops]) => `<h2 id="tag-${esc(tag)}">${esc(tag)}</h2>${ops.join("\n")}`);
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(doc.info.title)} API</title><style>${style}</style></head><body>
<nav><strong>${esc(doc.info.title)} ${esc(doc.info.version)}</strong><p><a href="/openapi.json">openapi.json</a></p>${nav.join("")}</nav>
<main><h1>${esc(doc.info.title)} API</h1><p>${esc(doc.info.description ?? "")}</p>
<h3>Problems</h3>${pretty(doc.components.schemas && (doc.components.schemas as Record<string, unknown>).Problem)}
${sections.join("\n")}</main></body></html>`;
  const hash = createHash("sha256").update(style).digest("base64");
  return {
    html,
    csp: `default-src 'none'; style-src 'sha256-${hash}'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  };
}
