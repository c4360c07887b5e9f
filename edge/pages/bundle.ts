// The pages' assets, built by Bun in this process on first use: each page's script bundled and minified, and
// one stylesheet (uPlot's rules, then the pages'). Names carry a hash of their content, so they are cached
// for good and a new build is a new name.
import { createHash } from "node:crypto";
import { join } from "node:path";

const CLIENT = join(import.meta.dir, "client");
const UPLOT_CSS = Bun.resolveSync("uplot/dist/uPlot.min.css", import.meta.dir);

export type Asset = { body: Uint8Array<ArrayBuffer>; type: string; etag: string };
export type Assets = { files: Map<string, Asset>; ops: string; shop: string; css: string };

const hashOf = (body: Uint8Array) => createHash("sha256").update(body).digest("base64url").slice(0, 12);

export async function buildAssets(): Promise<Assets> {
  const built = await Bun.build({
    entrypoints: [join(CLIENT, "ops.ts"), join(CLIENT, "shop.ts")],
    target: "browser",
    minify: true,
    naming: "[name]-[hash].[ext]",
  });
  if (!built.success) throw new AggregateError(built.logs, "the pages' scripts did not build");
  const files = new Map<string, Asset>();
  const names: Record<string, string> = {};
  for (const out of built.outputs) {
    const name = out.path.replace(/^.*\//, "");
    const body = new Uint8Array(await out.arrayBuffer());
    files.set(name, { body, type: "text/javascript; charset=utf-8", etag: `"${hashOf(body)}"` });
    names[name.replace(/-[^-]*$/, "")] = name;
  }
  const css = new TextEncoder().encode(
    `${await Bun.file(UPLOT_CSS).text()}\n${await Bun.file(join(CLIENT, "pages.css")).text()}`,
  );
  const cssName = `pages-${hashOf(css)}.css`;
  files.set(cssName, { body: css, type: "text/css; charset=utf-8", etag: `"${hashOf(css)}"` });
  if (!names.ops || !names.shop)
    throw new Error(`the pages' build is missing a script: ${Object.values(names).join(", ")}`);
  return { files, ops: names.ops, shop: names.shop, css: cssName };
}
