// A few DOM helpers shared by the pages.

export const $ = <T extends Element = HTMLElement>(sel: string, root: ParentNode = document): T => {
  const el = root.querySelector<T>(sel);
  if (!el) throw new Error(`missing ${sel}`);
  return el;
};

/** An element with attributes (a `data-*` name as given) and children. */
export function h(
  tag: string,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: (Node | string)[]
): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs))
    if (v !== undefined && v !== false) el.setAttribute(k, v === true ? "" : v);
  el.append(...children);
  return el;
}

/** Sets an element's text only when it changed (no needless layout, and a test sees one change per change). */
export function setText(el: Element, text: string) {
  if (el.textContent !== text) el.textContent = text;
}

export const won = (n: number) => `${n.toLocaleString("en-US")} KRW`;
export const count = (n: number | null | undefined) =>
  n === null || n === undefined ? "?" : n.toLocaleString("en-US");

/** 3723 s -> "1:02:03"; 63 s -> "1:03". */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const [hh, mm, ss] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const two = (n: number) => String(n).padStart(2, "0");
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

/** Wires a login form (`input[name=email]`, `input[name=password]`, a submit button) to `login`. */
export function loginForm(form: HTMLFormElement, login: (email: string, password: string) => Promise<void>) {
  const error = $("[data-field=login-error]", form);
  const submit = $<HTMLButtonElement>("button[type=submit]", form);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    submit.disabled = true;
    setText(error, "");
    try {
      await login(String(data.get("email") ?? ""), String(data.get("password") ?? ""));
      form.reset();
    } catch (err) {
      setText(error, err instanceof Error ? err.message : String(err));
    } finally {
      submit.disabled = false;
    }
  });
}
