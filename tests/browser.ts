// Headless Chromium for the page tests: Debian's `chromium` (installed by .ci/run) driven by puppeteer-core.
import { existsSync } from "node:fs";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

const CANDIDATES = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

export function chromiumPath(): string {
  const found = CANDIDATES.find((p): p is string => !!p && existsSync(p));
  if (!found) throw new Error("no Chromium found: apt-get install chromium (or set CHROMIUM_PATH)");
  return found;
}

export function launchBrowser(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
  return puppeteer.launch({ executablePath: chromiumPath(), headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
}

/**
 * The page's script errors: uncaught exceptions and console errors. Chrome's own line for an HTTP answer of 4xx
 * or 5xx to a fetch ("Failed to load resource") is a refusal the page handles, not a script error: those go to
 * `answers` with their status, for the test to judge.
 */
export function watchErrors(page: Page) {
  const errors: string[] = [];
  const answers: { url: string; status: number }[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e instanceof Error ? e.message : String(e)}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(`console: ${m.text()}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) answers.push({ url: r.url(), status: r.status() });
  });
  return { errors, answers };
}
