// The cabinet's shell: login, the header with navigation and the language switch, and routing
// (#/<page id>/<rest…>) to the pages that register themselves here.
//
// CONTRACT for page modules (keep it stable: pages are written against it):
//   import { registerPage, el, copyField, errorText } from '../app.js';
//   registerPage(id, { title: {en, ru}, adminOnly: bool, render(container, ctx) })
//     - a top-level page, shown in the navigation at #/<id>; adminOnly pages are hidden from
//       non-administrators (the PBX refuses them anyway: hiding is a courtesy, not the rule).
//     - optional titleFor(me) -> {en, ru}: a title that depends on who is logged in.
//     - render may be async; it fills `container` (emptied for it) and is called again on every
//       navigation to the page.
//   ctx = { api, t, me, navigate(path), lang, params, reload() }
//     - api: api.js's `api`: get(path), send(method, path, body, {etag}) -> {status, body, etag};
//       a refusal throws ApiError {status, code, message, fields, details} (code: the API's
//       machine-readable one; message: its English sentence, never shown as it is to a Russian
//       reader; details: value, owner, retry_after_s; err.stale is true for 412).
//     - t(strings, key, vars): strings = the page's own {en:{…}, ru:{…}}; falls back to i18n.js COMMON
//       (e.g. t(S, 'stale') -> "Changed by someone else — reload").
//     - me: GET /me of whoever is logged in ({id, name, administrator, …}).
//     - navigate('/employees/12'): go to #/employees/12. params: the path's parts after the id.
//     - lang: 'en' | 'ru'. reload(): render the current page again.
//   errorText(err, ctx) -> the sentence to show for an ApiError, in ctx.lang (by its code);
//   problemText(problem, ctx) -> one 422 field problem's sentence, in ctx.lang;
//   showFormError(form, statusElement, err, ctx) also puts a 422's field problems beside the inputs
//   (replacing the last ones; editing a field removes its own); clearFormError(form, status) after a success;
//   el(tag, attrs, …children) builds DOM; copyField(label, value, {secret}) is a value with Copy.
//   PAGES below is the one list of page modules (pages/<id>.js registers <id>; the navigation
//   follows this order); a module that fails to load is left out with
//   a console warning, so the others still work. The employee card's "Receive scheme" tab calls
//   renderSchemeTab(container, ctx, employeeId) exported by pages/scheme.js.

import { api, auth, ApiError } from './api.js';
import { COMMON, chooseLang, detectLang, translate } from './i18n.js';

const PAGES = [
  './pages/employees.js',
  './pages/numbers.js',
  './pages/contacts.js',
  './pages/calendar.js',
  './pages/audit.js',
  './pages/settings.js',
];

const pages = new Map();
const state = { lang: detectLang(), me: null };
const t = (strings, key, vars) => translate(strings, key, vars, state.lang);
const c = (key, vars) => translate(COMMON, key, vars, state.lang);

export function registerPage(id, page) {
  pages.set(id, page);
}

// el('button', {type: 'button', class: 'x', onclick: fn}, 'text', child…): DOM without innerHTML,
// so nothing the PBX returns is ever parsed as markup.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (name === 'class') node.className = value;
    else if (name in node && typeof value !== 'string') node[name] = value;
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// The sentences for the API's refusals and field problems by their stable codes, in both
// languages (GET /refusals.json: the same ones the app shows), loaded at start. The API's own
// message is English: it is shown only to an English reader, and only for a code not known here.
let refusals = { en: {}, ru: {} };

async function loadRefusals() {
  try {
    const response = await fetch('/refusals.json', { cache: 'no-cache', credentials: 'omit' });
    if (response.ok) refusals = await response.json();
  } catch { /* the general sentences below */ }
}

function refusalOf(key, lang) {
  return (refusals[lang] || {})[key];
}

export function errorText(err, ctx) {
  const lang = ctx ? ctx.lang : state.lang;
  const say = (key, vars) => translate(COMMON, key, vars, lang);
  if (!(err instanceof ApiError)) return say('failed', { message: String(err && err.message || err) });
  if (err.status === 0) return say('network');
  if (err.status === 412) return say('stale');
  if (err.status === 403) return say('forbidden');
  if (err.status === 401 && err.code !== 'invalid_credentials') return say('sessionEnded');
  const d = err.details || {};
  const vars = { value: d.value ?? '', owner: d.owner ?? '', seconds: d.retry_after_s ?? '' };
  let key = `api.${err.code}`;
  const text = refusalOf(key, lang);
  if (text !== undefined && text.includes('{owner}') && !(d.owner && d.value)) key = 'api.taken';
  if (refusalOf(key, lang) !== undefined) return translate(refusals, key, vars, lang);
  const general = err.status >= 500 ? 'api.internal' : 'api.refused';
  if (lang === 'en' || refusalOf(general, lang) === undefined) return say('failed', { message: err.message });
  return translate(refusals, general, {}, lang);
}

// One field problem of a 422, by its code; the API's English sentence only as errorText says.
export function problemText(problem, ctx) {
  const lang = ctx ? ctx.lang : state.lang;
  const key = `problem.${problem.code}`;
  if (refusalOf(key, lang) !== undefined) return translate(refusals, key, {}, lang);
  if (lang === 'en' || refusalOf('problem.other', lang) === undefined) return problem.message;
  return translate(refusals, 'problem.other', {}, lang);
}

// A refused form: the sentence in `status` (a role=alert element of the form), and each 422
// field problem beside its input (matched by the input's name), announced and marked invalid.
export function showFormError(form, status, err, ctx) {
  form.querySelectorAll('.field-error').forEach((node) => node.remove());
  form.querySelectorAll('[aria-invalid]').forEach((node) => node.removeAttribute('aria-invalid'));
  status.textContent = errorText(err, ctx);
  for (const problem of (err && err.fields) || []) {
    const input = form.querySelector(`[name="${CSS.escape(problem.field)}"]`);
    if (!input) continue;
    const id = `${input.id || problem.field}-error`;
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', id);
    input.after(el('span', { class: 'field-error error', id }, problemText(problem, ctx)));
  }
  const first = form.querySelector('[aria-invalid="true"]');
  if (first) first.focus();
}

// A form whose last submit went through: its sentence and every field problem go.
export function clearFormError(form, status) {
  form.querySelectorAll('.field-error').forEach((node) => node.remove());
  form.querySelectorAll('[aria-invalid]').forEach((node) => node.removeAttribute('aria-invalid'));
  status.textContent = '';
}

// Editing a field takes its problem away (issue 14: an old error stayed beside the new value):
// what the PBX said was about the value that was there.
function forgetFieldError(event) {
  const input = event.target;
  if (!(input instanceof Element) || input.getAttribute('aria-invalid') !== 'true') return;
  input.removeAttribute('aria-invalid');
  const id = input.getAttribute('aria-describedby');
  const note = id ? document.getElementById(id) : null;
  if (note && note.classList.contains('field-error')) {
    note.remove();
    input.removeAttribute('aria-describedby');
  }
}
document.addEventListener('input', forgetFieldError);
document.addEventListener('change', forgetFieldError);

export function toast(text) {
  const box = document.getElementById('toast');
  box.textContent = text;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.textContent = ''; }, 4000);
}

async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // navigator.clipboard exists only in a secure context (https or localhost); a PBX opened
    // as http://192.168.x.y:8080 is not one, and there the selection still copies.
    if (!input) return false;
    const type = input.type;
    input.type = 'text';  // a password field's text cannot be selected for copying
    input.focus();
    input.select();
    try { return document.execCommand('copy'); } catch { return false; } finally { input.type = type; }
  }
}

// A read-only value with a Copy button (SIP address, password shown once).
export function copyField(label, value, { id, secret = false } = {}) {
  const inputId = id || `copy-${Math.random().toString(36).slice(2)}`;
  const input = el('input', { id: inputId, type: secret ? 'password' : 'text', readOnly: true, value, class: 'mono',
    spellcheck: 'false', autocomplete: 'off' });
  const button = el('button', { type: 'button', class: 'copy', 'aria-describedby': inputId,
    onclick: async () => toast(c(await copyText(value, input) ? 'copied' : 'copyFailed')) }, c('copy'));
  button.setAttribute('aria-label', `${c('copy')}: ${label}`);
  return el('div', { class: 'copy-field' }, el('label', { for: inputId }, label), el('div', { class: 'copy-row' }, input, button));
}

function currentPath() {
  const hash = location.hash.replace(/^#\/?/, '');
  return hash.split('/').filter(Boolean).map(decodeURIComponent);
}

function navigate(path) {
  const target = '#/' + String(path).replace(/^\/+/, '');
  if (location.hash === target) route();
  else location.hash = target;
}

function visiblePages() {
  // In the order of PAGES (the modules load in parallel and register in whatever order they arrive).
  const rank = (id) => {
    const i = PAGES.findIndex((path) => path.endsWith(`/${id}.js`));
    return i < 0 ? PAGES.length : i;
  };
  return [...pages.entries()].filter(([, page]) => !page.adminOnly || (state.me && state.me.administrator))
    .sort(([a], [b]) => rank(a) - rank(b));
}

function pageTitle(page) {
  const title = page.titleFor ? page.titleFor(state.me) : page.title;
  return title[state.lang] || title.en;
}

function renderChrome() {
  document.documentElement.lang = state.lang;
  document.title = c('product');
  document.getElementById('skip-link').textContent = c('skip');
  const switcher = document.getElementById('lang-switch');
  switcher.textContent = c('switchTo');
  switcher.setAttribute('aria-label', c('switchLabel'));
  switcher.setAttribute('lang', state.lang === 'en' ? 'ru' : 'en');
  document.getElementById('logout').textContent = c('logout');
  const nav = document.getElementById('nav');
  nav.setAttribute('aria-label', c('nav'));
  const [current] = currentPath();
  nav.replaceChildren(el('ul', {}, visiblePages().map(([id, page]) => el('li', {},
    el('a', { href: `#/${id}`, 'aria-current': id === current ? 'page' : false, id: `nav-${id}` },
      pageTitle(page))))));
  document.getElementById('who-name').textContent = state.me ? state.me.name : '';
}

// Each navigation's number: a page still loading when a newer navigation starts (two hash changes
// in a row, a click during a slow load) must not take the focus or mark the page ready.
let routeSeq = 0;

async function route() {
  const main = document.getElementById('main');
  if (!state.me) return;
  const mine = ++routeSeq;
  const visible = visiblePages();
  let [id, ...params] = currentPath();
  if (!id && visible.length) {
    navigate(visible[0][0]);
    return;
  }
  renderChrome();
  const page = pages.get(id);
  const container = el('div', { class: 'page', id: `page-${id}` });
  main.setAttribute('aria-busy', 'true');
  main.replaceChildren(container);
  if (!page || (page.adminOnly && !state.me.administrator)) {
    container.append(el('h1', { tabindex: '-1' }, c('notFound')));
  } else {
    const ctx = { api, t, me: state.me, navigate, lang: state.lang, params, reload: route };
    container.append(el('p', { class: 'loading' }, c('loading')));
    try {
      container.replaceChildren();
      await page.render(container, ctx);
    } catch (err) {
      container.append(el('p', { class: 'error', role: 'alert' }, errorText(err)));
    }
  }
  if (mine !== routeSeq) return;
  main.setAttribute('aria-busy', 'false');
  // Focus follows the navigation, so a keyboard or screen-reader user lands on the new page.
  const heading = container.querySelector('h1');
  if (heading && !container.contains(document.activeElement)) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: false });
  }
}

function renderLogin(message) {
  routeSeq += 1;  // a page still loading behind the login form is no longer the page
  document.getElementById('top').hidden = true;
  document.getElementById('main').removeAttribute('aria-busy');
  document.documentElement.lang = state.lang;
  document.getElementById('skip-link').textContent = c('skip');
  const main = document.getElementById('main');
  const error = el('p', { class: 'error', role: 'alert', id: 'login-error' }, message || '');
  const loginInput = el('input', { id: 'login', name: 'login', autocomplete: 'username', required: true });
  const passwordInput = el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password',
    required: true });
  const submit = el('button', { type: 'submit', class: 'primary' }, c('loginButton'));
  const switcher = el('button', { type: 'button', class: 'link', lang: state.lang === 'en' ? 'ru' : 'en',
    'aria-label': c('switchLabel'), onclick: () => { setLang(state.lang === 'en' ? 'ru' : 'en'); renderLogin(); } },
  c('switchTo'));
  const form = el('form', { class: 'login', novalidate: false }, el('h1', {}, c('loginTitle')),
    el('label', { for: 'login' }, c('login')), loginInput,
    el('label', { for: 'password' }, c('password')), passwordInput,
    error, submit, el('p', {}, switcher));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    submit.textContent = c('loggingIn');
    try {
      await auth.login(loginInput.value.trim(), passwordInput.value);
      await start();
    } catch (err) {
      submit.disabled = false;
      submit.textContent = c('loginButton');
      error.textContent = errorText(err);
      passwordInput.focus();
    }
  });
  main.replaceChildren(el('div', { class: 'page' }, form));
  loginInput.focus();
}

function setLang(lang) {
  state.lang = lang;
  chooseLang(lang);
}

async function start() {
  try {
    state.me = (await api.get('/me')).body;
  } catch (err) {
    state.me = null;
    renderLogin(err instanceof ApiError && err.status === 401 ? c('sessionEnded') : errorText(err));
    return;
  }
  document.getElementById('top').hidden = false;
  await route();
}

async function loadPages() {
  const results = await Promise.allSettled(PAGES.map((path) => import(path)));
  results.forEach((result, i) => {
    if (result.status === 'rejected') console.warn(`cabinet: page ${PAGES[i]} not loaded:`, result.reason);
  });
}

async function main() {
  document.getElementById('lang-switch').addEventListener('click', () => {
    setLang(state.lang === 'en' ? 'ru' : 'en');
    route();
  });
  document.getElementById('logout').addEventListener('click', async () => {
    state.me = null;  // first: a navigation while the logout is under way must not load a page
    await auth.logout();
    history.replaceState(null, '', location.pathname);
    renderLogin();
  });
  auth.onEnded(() => { state.me = null; renderLogin(c('sessionEnded')); });
  window.addEventListener('hashchange', route);
  await Promise.all([loadPages(), loadRefusals()]);
  if (auth.loggedIn) await start();
  else renderLogin();
}

main();
