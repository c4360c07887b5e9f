// A headless Chromium for whole-stack tests (Debian's `chromium`, driven by puppeteer-core over the DevTools
// protocol), with a virtual WebAuthn authenticator when a test needs passkeys.
import puppeteer, { type Browser, type Page } from "puppeteer-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/** What tests use of the page's globals, for functions that run in the page. */
export type BrowserGlobals = {
  document: { querySelector(s: string): { textContent: string | null } | null };
  navigator: {
    credentials: {
      get(o: unknown): Promise<{ toJSON(): unknown }>;
      create(o: unknown): Promise<{ toJSON(): unknown }>;
    };
  };
  PublicKeyCredential: {
    parseRequestOptionsFromJSON(o: unknown): unknown;
    parseCreationOptionsFromJSON(o: unknown): unknown;
  };
};

export function chromiumPath(): string {
  const found = process.env.CHROMIUM_PATH ?? CANDIDATES.find((p) => Bun.file(p).size > 0);
  if (!found) throw new Error("no Chromium found: apt-get install chromium (or set CHROMIUM_PATH)");
  return found;
}

export function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}

/**
 * Gives the page a platform authenticator that holds discoverable credentials and says yes at once (user present
 * and verified), as a phone or laptop with a passkey would. Returns its id.
 */
export async function addVirtualAuthenticator(page: Page): Promise<string> {
  const cdp = await page.createCDPSession();
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return authenticatorId;
}

/** Waits until the element's text contains `text`, or fails naming what it shows instead. */
export async function waitForText(page: Page, selector: string, text: string, timeoutMs = 10_000): Promise<void> {
  try {
    // runs in the page (this project type-checks without the DOM library)
    const inPage = (s: string, t: string) =>
      (globalThis as unknown as BrowserGlobals).document.querySelector(s)?.textContent?.includes(t);
    await page.waitForFunction(inPage, { timeout: timeoutMs }, selector, text);
  } catch {
    const shown = await page.$eval(selector, (e) => e.textContent).catch(() => "(no such element)");
    throw new Error(`${selector} never showed "${text}"; it shows "${shown}"`);
  }
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
