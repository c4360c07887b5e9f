// Small pages the edge serves for the accounts: the targets of the mailed links (/verify-email, /reset-password)
// and /passkeys, where a person signs in, registers a passkey and logs in with it. Plain HTML and a few lines of
// script calling the API; WebAuthn through the browser's JSON forms of the options and answers.
import { type Context, Hono } from "hono";
import type { Env } from "../deps";
import { openapi } from "../openapi";

const html = { 200: { description: "HTML page", contentType: "text/html" } } as const;

const layout = (title: string, body: string, script: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} - flashsale</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 34rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5 }
  form, section { display: grid; gap: .5rem; margin: 1rem 0 }
  input, button { font: inherit; padding: .4rem .6rem }
  [data-field="status"] { min-height: 1.5em; font-weight: 600 }
</style></head>
<body><h1>${title}</h1>
${body}
<p data-field="status" role="status"></p>
<script type="module">
const $ = (s) => document.querySelector(s);
const say = (t) => { $('[data-field="status"]').textContent = t; };
async function api(method, path, body, token) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = "Bearer " + token;
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  const data = text ? JSON.parse(text) : undefined;
  if (!r.ok) throw new Error(data?.detail ?? data?.title ?? "HTTP " + r.status);
  return data;
}
const token = new URLSearchParams(location.search).get("token");
${script}
</script></body></html>`;

const verifyPage = layout(
  "Verify your email",
  "<p>Confirming your email address...</p>",
  `if (!token) say("This link has no token.");
else api("POST", "/v1/auth/verify-email", { token })
  .then((u) => say("Verified: " + u.email))
  .catch((e) => say("Not verified: " + e.message));`,
);

const resetPage = layout(
  "Choose a new password",
  `<form id="reset"><label>New password <input name="password" type="password" autocomplete="new-password" required minlength="8"></label>
<button type="submit">Change password</button></form>`,
  `$("#reset").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    await api("POST", "/v1/auth/password/reset", { token, password: ev.target.password.value });
    say("Password changed: every session of the account has ended; log in with the new password.");
  } catch (e) { say("Not changed: " + e.message); }
});`,
);

const passkeysPage = layout(
  "Passkeys",
  `<form id="login"><label>Email <input name="email" type="email" autocomplete="username webauthn" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button></form>
<section><button type="button" data-action="register-passkey">Register a passkey</button>
<ul data-field="passkeys"></ul></section>
<section><label>Email (leave empty to pick a passkey) <input name="passkey-email" type="email"></label>
<button type="button" data-action="passkey-login">Log in with a passkey</button>
<button type="button" data-action="logout">Log out</button></section>`,
  `let access = sessionStorage.getItem("accessToken");
async function signedIn(pair, how) {
  access = pair.accessToken;
  sessionStorage.setItem("accessToken", access);
  const me = await api("GET", "/v1/me", undefined, access);
  say("Signed in " + how + " as " + me.email);
  await list();
}
async function list() {
  const ul = $('[data-field="passkeys"]');
  ul.replaceChildren();
  if (!access) return;
  const { items } = await api("GET", "/v1/me/passkeys", undefined, access);
  for (const p of items) {
    const li = document.createElement("li");
    li.dataset.passkeyId = p.id;
    li.textContent = "passkey added " + new Date(p.createdAt).toLocaleString() + " ";
    const del = document.createElement("button");
    del.textContent = "Remove";
    del.onclick = () => api("DELETE", "/v1/me/passkeys/" + p.id, undefined, access).then(list, (e) => say(e.message));
    li.append(del);
    ul.append(li);
  }
}
$("#login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  try { await signedIn(await api("POST", "/v1/auth/login", { email: f.email.value, password: f.password.value }), "with a password"); }
  catch (e) { say("Not signed in: " + e.message); }
});
$('[data-action="register-passkey"]').addEventListener("click", async () => {
  try {
    if (!access) throw new Error("log in first");
    const options = await api("POST", "/v1/auth/passkeys/register/options", undefined, access);
    const cred = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
    await api("POST", "/v1/auth/passkeys/register", { response: cred.toJSON() }, access);
    say("Passkey registered");
    await list();
  } catch (e) { say("No passkey registered: " + e.message); }
});
$('[data-action="passkey-login"]').addEventListener("click", async () => {
  try {
    const email = $('[name="passkey-email"]').value;
    const options = await api("POST", "/v1/auth/passkeys/login/options", email ? { email } : {});
    const cred = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
    await signedIn(await api("POST", "/v1/auth/passkeys/login", { response: cred.toJSON() }), "with a passkey");
  } catch (e) { say("Not signed in: " + e.message); }
});
$('[data-action="logout"]').addEventListener("click", async () => {
  if (access) await api("POST", "/v1/auth/logout", undefined, access).catch(() => {});
  access = null;
  sessionStorage.removeItem("accessToken");
  await list();
  say("Signed out");
});
if (access) list().catch(() => { access = null; });`,
);

// a page whose address holds a token is not kept by caches (every answer already carries Referrer-Policy: no-referrer)
const tokenPage = (page: string) => (c: Context<Env>) => {
  c.header("Cache-Control", "no-store");
  return c.html(page);
};

export function accountPages() {
  const app = new Hono<Env>();
  app.get(
    "/verify-email",
    openapi({ summary: "The page a verification mail links to (?token=)", tags: ["pages"], responses: html }),
    tokenPage(verifyPage),
  );
  app.get(
    "/reset-password",
    openapi({ summary: "The page a password-reset mail links to (?token=)", tags: ["pages"], responses: html }),
    tokenPage(resetPage),
  );
  app.get(
    "/passkeys",
    openapi({ summary: "Sign in, register a passkey and log in with it", tags: ["pages"], responses: html }),
    (c) => c.html(passkeysPage),
  );
  return app;
}
