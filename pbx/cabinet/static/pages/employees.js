// Employees: the list with search as you type, registering a new employee, and the employee's
// card with its tabs. Administrators see everyone; anyone else is sent to their own card (the
// PBX refuses them the others anyway).

import { registerPage, el, clearFormError, copyField, errorText, showFormError, toast } from '../app.js';

const S = {
  en: {
    title: 'Employees',
    myCard: 'My card',
    search: 'Search by name, extension, mobile or e-mail',
    found: '{n} of {total} employees',
    more: 'The first {shown} are shown: type to narrow the list.',
    none: 'Nobody matches.',
    register: 'Register employee…',
    name: 'Name', extension: 'Extension', mobile: 'Mobile', email: 'E-mail', admin: 'Administrator',
    administrators: 'Member of Administrators',
    tabCard: 'Card', tabTelephony: 'Telephony', tabScheme: 'Receive scheme', tabOutgoing: 'Outgoing number',
    tabs: 'Employee card sections',
    password: 'Communicator password',
    passwordSet: 'Set {when}. It cannot be shown: generate a new one.',
    passwordNotSet: 'Not set.',
    generate: 'Generate',
    generateConfirm: "Generate a new communicator password? The employee's open sessions end.",
    newPassword: 'New communicator password',
    remove: 'Remove employee…',
    removeConfirm: 'Remove {name}? Their SIP accounts stop working, their scheme and personal contacts are deleted, and numbers that led to them lead nowhere.',
    removed: '{name} was removed.',
    back: 'All employees',
    sipAccounts: 'SIP accounts',
    sipAddress: 'SIP address {login}',
    sipPassword: 'SIP password {login}',
    server: 'SIP server (proxy)',
    mainAccount: 'the app’s own account (follows the extension)',
    removeAccount: 'Remove {login}',
    removeAccountConfirm: 'Remove the SIP account {login}? A phone using it stops ringing.',
    addAccount: 'Add a SIP account for a desk phone',
    newLogin: 'Login of the new SIP account',
    added: 'SIP account {login} added.',
    yourLogins: 'Your SIP logins',
    schemeMissing: 'The receive scheme editor is not available in this cabinet yet.',
    outgoing: 'Number shown when calling out',
    pbxDefault: 'The PBX default',
    registerTitle: 'Register an employee',
    created: '{name} is registered. Their credentials are shown this once:',
    sipLogin: 'SIP login',
    openCard: 'Open the card',
    commPassword: 'Communicator password (the app’s login)',
  },
  ru: {
    title: 'Сотрудники',
    myCard: 'Моя карточка',
    search: 'Поиск по имени, номеру, мобильному или e-mail',
    found: '{n} из {total}',
    more: 'Показаны первые {shown}: уточните поиск.',
    none: 'Никого не найдено.',
    register: 'Зарегистрировать сотрудника…',
    name: 'Имя', extension: 'Внутренний номер', mobile: 'Мобильный', email: 'E-mail', admin: 'Администратор',
    administrators: 'Входит в группу «Администраторы»',
    tabCard: 'Карточка', tabTelephony: 'Телефония', tabScheme: 'Схема приёма', tabOutgoing: 'Исходящий номер',
    tabs: 'Разделы карточки сотрудника',
    password: 'Пароль коммуникатора',
    passwordSet: 'Задан {when}. Показать его нельзя: сгенерируйте новый.',
    passwordNotSet: 'Не задан.',
    generate: 'Сгенерировать',
    generateConfirm: 'Сгенерировать новый пароль коммуникатора? Открытые сеансы сотрудника завершатся.',
    newPassword: 'Новый пароль коммуникатора',
    remove: 'Удалить сотрудника…',
    removeConfirm: 'Удалить {name}? Его SIP-аккаунты перестанут работать, схема и личные контакты удалятся, а номера, которые вели к нему, никуда не будут вести.',
    removed: '{name} удалён(а).',
    back: 'Все сотрудники',
    sipAccounts: 'SIP-аккаунты',
    sipAddress: 'SIP-адрес {login}',
    sipPassword: 'SIP-пароль {login}',
    server: 'SIP-сервер (прокси)',
    mainAccount: 'аккаунт приложения (следует за внутренним номером)',
    removeAccount: 'Удалить {login}',
    removeAccountConfirm: 'Удалить SIP-аккаунт {login}? Телефон с ним перестанет звонить.',
    addAccount: 'Добавить SIP-аккаунт для настольного телефона',
    newLogin: 'Логин нового SIP-аккаунта',
    added: 'SIP-аккаунт {login} добавлен.',
    yourLogins: 'Ваши SIP-логины',
    schemeMissing: 'Редактор схемы приёма пока недоступен в этом кабинете.',
    outgoing: 'Номер, который видят при исходящем звонке',
    pbxDefault: 'По умолчанию ВАТС',
    registerTitle: 'Регистрация сотрудника',
    created: '{name} зарегистрирован(а). Учётные данные показываются один раз:',
    sipLogin: 'SIP-логин',
    openCard: 'Открыть карточку',
    commPassword: 'Пароль коммуникатора (вход в приложение)',
  },
};

const TABS = ['card', 'telephony', 'scheme', 'outgoing'];
const SHOWN = 100;  // rows in the list at most: type to narrow
const TAB_KEYS = { card: 'tabCard', telephony: 'tabTelephony', scheme: 'tabScheme', outgoing: 'tabOutgoing' };

function digits(text) {
  return String(text || '').replace(/\D/g, '');
}

// What a query matches: name, e-mail and SIP logins by text, extension and mobile by digits too,
// so "4567" finds +7 916 123-45-67 however it was typed. The text and digits of each card are
// worked out once (haystack), not on every keystroke.
export function haystack(card) {
  return {
    text: [card.name, card.email, card.extension, card.mobile, ...(card.sip_logins || [])]
      .filter(Boolean).join(' ').toLowerCase(),
    digits: `${digits(card.mobile)} ${digits(card.extension)}`,
  };
}

export function matches(hay, query) {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  if (hay.text.includes(q)) return true;
  const d = digits(q);
  return d.length >= 2 && d.length === q.replace(/[\s()+\-.]/g, '').length && hay.digits.includes(d);
}

function when(iso, lang) {
  if (!iso) return '';
  const date = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`);
  return date.toLocaleString(lang === 'ru' ? 'ru-RU' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

async function renderList(container, ctx) {
  const t = (key, vars) => ctx.t(S, key, vars);
  const { body: cards } = await ctx.api.get('/employees');
  const search = el('input', { id: 'employee-search', type: 'search', autocomplete: 'off', name: 'q' });
  const count = el('p', { id: 'employee-count', class: 'muted', 'aria-live': 'polite' });
  const tbody = el('tbody');
  const table = el('div', { class: 'table-wrap' }, el('table', { id: 'employee-list' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('name')), el('th', { scope: 'col' }, t('extension')),
      el('th', { scope: 'col' }, t('mobile')), el('th', { scope: 'col', class: 'hide-narrow' }, t('email')),
      el('th', { scope: 'col', class: 'hide-narrow' }, t('admin')))),
    tbody));
  const empty = el('p', { class: 'muted', hidden: true }, t('none'));
  const more = el('p', { class: 'muted', id: 'employee-more', hidden: true });
  // At most SHOWN rows are in the table, each built the first time it is shown and kept: with
  // thousands of employees, the list is ready at once and a keystroke re-lays out a short
  // table instead of hiding thousands of rows (bench/cabinet.py).
  const hays = cards.map(haystack);
  const built = new Map();
  const rowOf = (card) => {
    let row = built.get(card.id);
    if (!row) {
      row = el('tr', {},
        el('td', {}, el('a', { href: `#/employees/${card.id}` }, card.name)),
        el('td', {}, card.extension), el('td', {}, card.mobile || ''),
        el('td', { class: 'hide-narrow' }, card.email || ''),
        el('td', { class: 'hide-narrow' }, card.administrator ? ctx.t(S, 'yes') : ''));
      built.set(card.id, row);
    }
    return row;
  };
  const apply = () => {
    const query = search.value;
    const found = cards.filter((card, i) => matches(hays[i], query));
    tbody.replaceChildren(...found.slice(0, SHOWN).map(rowOf));
    empty.hidden = found.length > 0;
    more.hidden = found.length <= SHOWN;
    more.textContent = t('more', { shown: SHOWN });
    count.textContent = t('found', { n: found.length, total: cards.length });
  };
  search.addEventListener('input', apply);
  apply();
  container.append(
    el('h1', {}, t('title')),
    el('div', { class: 'actions' }, el('a', { href: '#/employees/new', id: 'register-employee' }, t('register'))),
    el('label', { for: 'employee-search' }, t('search')), search, count, table, more, empty);
}

async function renderRegister(container, ctx) {
  const t = (key, vars) => ctx.t(S, key, vars);
  const status = el('p', { class: 'error', role: 'alert' });
  const field = (name, label, attrs = {}) => [el('label', { for: `new-${name}` }, label),
    el('input', { id: `new-${name}`, name, ...attrs })];
  const admin = el('input', { type: 'checkbox', id: 'new-administrator', name: 'administrator' });
  const form = el('form', { class: 'card', id: 'register-form' },
    field('name', t('name'), { required: true, autocomplete: 'off' }),
    field('extension', t('extension'), { required: true, inputmode: 'numeric', autocomplete: 'off' }),
    field('mobile', t('mobile'), { type: 'tel', autocomplete: 'off' }),
    field('email', t('email'), { type: 'email', autocomplete: 'off' }),
    el('label', { class: 'inline', for: 'new-administrator' }, admin, t('administrators')),
    status,
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, t('register').replace('…', '')),
      el('a', { href: '#/employees' }, ctx.t(S, 'cancel'))));
  const result = el('div', { id: 'register-result' });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = (name) => form.elements[name].value.trim();
    const body = { name: value('name'), extension: value('extension'), administrator: admin.checked };
    if (value('mobile')) body.mobile = value('mobile');
    if (value('email')) body.email = value('email');
    try {
      const { body: created } = await ctx.api.send('POST', '/employees', body);
      const login = `${created.sip.username}@${created.sip.domain}`;
      form.remove();
      result.append(el('div', { class: 'card once' },
        el('p', { role: 'status' }, t('created', { name: created.employee.name })),
        el('p', { class: 'notice' }, ctx.t(S, 'shownOnce')),
        copyField(t('sipLogin'), login, { id: 'created-sip-login' }),
        copyField(t('sipPassword', { login }), created.sip.password, { id: 'created-sip-password', secret: true }),
        copyField(t('commPassword'), created.communicator_password, { id: 'created-password', secret: true }),
        el('div', { class: 'actions' }, el('a', { href: `#/employees/${created.employee.id}` }, t('openCard')))));
      result.querySelector('input').focus();
    } catch (err) {
      showFormError(form, status, err, ctx);
    }
  });
  container.append(el('h1', {}, t('registerTitle')), form, result);
}

function tabList(ctx, id, current) {
  const t = (key) => ctx.t(S, key);
  const tabs = TABS.map((tab) => el('button', {
    type: 'button', role: 'tab', id: `tab-${tab}`, 'aria-controls': 'tab-panel',
    'aria-selected': tab === current ? 'true' : 'false', tabindex: tab === current ? '0' : '-1',
    onclick: () => ctx.navigate(`/employees/${id}/${tab}`),
  }, t(TAB_KEYS[tab])));
  const list = el('div', { role: 'tablist', class: 'tabs', 'aria-label': t('tabs') }, tabs);
  // Arrow keys move between tabs (the WAI-ARIA tabs pattern); Tab goes into the panel.
  list.addEventListener('keydown', (event) => {
    const i = tabs.indexOf(document.activeElement);
    if (i < 0) return;
    let next = null;
    if (event.key === 'ArrowRight') next = (i + 1) % tabs.length;
    if (event.key === 'ArrowLeft') next = (i - 1 + tabs.length) % tabs.length;
    if (event.key === 'Home') next = 0;
    if (event.key === 'End') next = tabs.length - 1;
    if (next === null) return;
    event.preventDefault();
    tabs[next].click();
  });
  return list;
}

async function renderCard(container, ctx, id, tab) {
  const t = (key, vars) => ctx.t(S, key, vars);
  const r = await ctx.api.get(`/employees/${id}`);
  const card = r.body;
  const panel = el('div', { role: 'tabpanel', id: 'tab-panel', 'aria-labelledby': `tab-${tab}`, tabindex: '0' });
  container.append(
    ctx.me.administrator ? el('p', {}, el('a', { href: '#/employees' }, `← ${t('back')}`)) : null,
    el('h1', {}, card.name), tabList(ctx, id, tab), panel);
  const state = { card, etag: r.etag };
  if (tab === 'card') cardTab(panel, ctx, state);
  else if (tab === 'telephony') await telephonyTab(panel, ctx, state);
  else if (tab === 'scheme') await schemeTab(panel, ctx, id);
  else await outgoingTab(panel, ctx, state);
  // After a tab switch, keep the focus on the chosen tab rather than the page heading.
  if (container.dataset.keepTab) document.getElementById(`tab-${tab}`).focus();
}

function staleBox(ctx, status) {
  status.append(' ', el('button', { type: 'button', class: 'link', onclick: () => ctx.reload() }, ctx.t(S, 'reload')));
}

function cardTab(panel, ctx, state) {
  const t = (key, vars) => ctx.t(S, key, vars);
  const { card } = state;
  const admin = ctx.me.administrator;
  const status = el('p', { class: 'error', role: 'alert', id: 'card-status' });
  const input = (name, label, attrs = {}) => [el('label', { for: `card-${name}` }, label),
    el('input', { id: `card-${name}`, name, value: card[name] || '', readOnly: !admin, ...attrs })];
  const form = el('form', { class: 'card', id: 'card-form' },
    input('name', t('name'), { required: true }), input('extension', t('extension'), { required: true }),
    input('mobile', t('mobile'), { type: 'tel' }), input('email', t('email'), { type: 'email' }),
    status,
    admin ? el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, ctx.t(S, 'save'))) : null);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const changes = {};
    for (const name of ['name', 'extension', 'mobile', 'email']) {
      const value = form.elements[name].value.trim();
      if (value !== (card[name] || '')) changes[name] = value || null;
    }
    try {
      const r = await ctx.api.send('PATCH', `/employees/${card.id}`, changes, { etag: state.etag });
      state.card = r.body;
      state.etag = r.etag;
      clearFormError(form, status);
      toast(ctx.t(S, 'saved'));
      ctx.reload();
    } catch (err) {
      showFormError(form, status, err, ctx);
      if (err.stale) staleBox(ctx, status);
    }
  });
  panel.append(form);

  if (admin) {
    const member = el('input', { type: 'checkbox', id: 'card-administrator', checked: card.administrator });
    const memberStatus = el('p', { class: 'error', role: 'alert' });
    member.addEventListener('change', async () => {
      try {
        await ctx.api.send(member.checked ? 'PUT' : 'DELETE', `/groups/administrators/members/${card.id}`);
        toast(ctx.t(S, 'saved'));
        memberStatus.textContent = '';
      } catch (err) {
        member.checked = !member.checked;
        memberStatus.textContent = errorText(err, ctx);
      }
    });
    panel.append(el('div', { class: 'card' },
      el('label', { class: 'inline', for: 'card-administrator' }, member, t('administrators')), memberStatus));
  } else {
    panel.append(el('p', {}, `${t('administrators')}: ${ctx.t(S, card.administrator ? 'yes' : 'no')}`));
  }

  const passwordBox = el('div', { class: 'card', id: 'password-box' }, el('h2', {}, t('password')),
    el('p', {}, card.communicator_password_set ? t('passwordSet', { when: when(card.communicator_password_set_at, ctx.lang) })
      : t('passwordNotSet')));
  if (admin) {
    const result = el('div', { id: 'generated' });
    const pwStatus = el('p', { class: 'error', role: 'alert' });
    passwordBox.append(el('div', { class: 'actions' }, el('button', { type: 'button', id: 'generate-password',
      onclick: async () => {
        if (!window.confirm(t('generateConfirm'))) return;
        try {
          const { body } = await ctx.api.send('POST', `/employees/${card.id}/communicator-password`);
          result.replaceChildren(el('div', { class: 'once' }, el('p', { class: 'notice' }, ctx.t(S, 'shownOnce')),
            copyField(t('newPassword'), body.communicator_password, { id: 'new-password' })));
          result.querySelector('button.copy').focus();
          pwStatus.textContent = '';
        } catch (err) {
          pwStatus.textContent = errorText(err, ctx);
        }
      } }, t('generate'))), pwStatus, result);
  }
  panel.append(passwordBox);

  if (admin && card.id !== ctx.me.id) {
    const removeStatus = el('p', { class: 'error', role: 'alert' });
    panel.append(el('div', { class: 'actions' }, el('button', { type: 'button', class: 'danger', id: 'remove-employee',
      onclick: async () => {
        if (!window.confirm(t('removeConfirm', { name: card.name }))) return;
        try {
          await ctx.api.send('DELETE', `/employees/${card.id}`, undefined, { etag: state.etag });
          toast(t('removed', { name: card.name }));
          ctx.navigate('/employees');
        } catch (err) {
          removeStatus.textContent = errorText(err, ctx);
          if (err.stale) staleBox(ctx, removeStatus);
        }
      } }, t('remove')), removeStatus));
  }
}

async function telephonyTab(panel, ctx, state) {
  const t = (key, vars) => ctx.t(S, key, vars);
  const { card } = state;
  if (!ctx.me.administrator) {
    panel.append(el('h2', {}, t('yourLogins')), el('ul', {}, card.sip_logins.map((login) => el('li', {}, login))));
    return;
  }
  const [{ body: creds }, { body: settings }] = await Promise.all([
    ctx.api.get(`/employees/${card.id}/credentials`), ctx.api.get('/settings')]);
  panel.append(el('h2', {}, t('sipAccounts')));
  if (settings.sip_proxy) panel.append(copyField(t('server'), settings.sip_proxy, { id: 'sip-server' }));
  const status = el('p', { class: 'error', role: 'alert' });
  creds.sip.forEach((account) => {
    const login = `${account.username}@${account.domain}`;
    const main = account.username === card.extension;
    const box = el('div', { class: 'card sip-account', 'data-username': account.username },
      el('h3', {}, login, main ? el('span', { class: 'muted' }, ` — ${t('mainAccount')}`) : null),
      copyField(t('sipAddress', { login }), login, { id: `sip-address-${account.username}` }),
      copyField(t('sipPassword', { login }), account.password, { id: `sip-password-${account.username}`, secret: true }));
    if (!main) {
      box.append(el('div', { class: 'actions' }, el('button', { type: 'button', class: 'danger',
        onclick: async () => {
          if (!window.confirm(t('removeAccountConfirm', { login }))) return;
          try {
            await ctx.api.send('DELETE', `/employees/${card.id}/sip-accounts/${encodeURIComponent(account.username)}`);
            ctx.reload();
          } catch (err) {
            status.textContent = errorText(err, ctx);
          }
        } }, t('removeAccount', { login }))));
    }
    panel.append(box);
  });
  const addStatus = el('p', { class: 'error', role: 'alert' });
  const username = el('input', { id: 'new-sip-username', name: 'username', required: true, autocomplete: 'off',
    inputmode: 'numeric' });
  const form = el('form', { class: 'card', id: 'add-sip-form' }, el('h2', {}, t('addAccount')),
    el('label', { for: 'new-sip-username' }, t('newLogin')), username, addStatus,
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, ctx.t(S, 'add'))));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const { body } = await ctx.api.send('POST', `/employees/${card.id}/sip-accounts`, { username: username.value.trim() });
      toast(t('added', { login: `${body.username}@${body.domain}` }));
      await ctx.reload();
      const added = document.getElementById(`sip-password-${body.username}`);
      if (added) added.focus();
    } catch (err) {
      showFormError(form, addStatus, err, ctx);
    }
  });
  panel.append(status, form);
}

async function schemeTab(panel, ctx, id) {
  let module = null;
  try {
    module = await import('./scheme.js');
  } catch (err) {
    console.warn('cabinet: pages/scheme.js not loaded:', err);
  }
  if (module && typeof module.renderSchemeTab === 'function') await module.renderSchemeTab(panel, ctx, id);
  else panel.append(el('p', { class: 'notice' }, ctx.t(S, 'schemeMissing')));
}

async function outgoingTab(panel, ctx, state) {
  const t = (key, vars) => ctx.t(S, key, vars);
  const { body: numbers } = await ctx.api.get('/numbers');
  const current = state.card.outgoing_number ? state.card.outgoing_number.id : '';
  const select = el('select', { id: 'outgoing-number', name: 'number_id' },
    el('option', { value: '', selected: current === '' }, t('pbxDefault')),
    numbers.numbers.map((n) => el('option', { value: String(n.id), selected: n.id === current },
      n.label ? `${n.number} — ${n.label}` : n.number)));
  const status = el('p', { class: 'error', role: 'alert' });
  const form = el('form', { class: 'card', id: 'outgoing-form' }, el('label', { for: 'outgoing-number' }, t('outgoing')),
    select, status, el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, ctx.t(S, 'save'))));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const r = await ctx.api.send('PUT', `/employees/${state.card.id}/outgoing-number`,
        { number_id: select.value ? Number(select.value) : null }, { etag: state.etag });
      state.card = r.body;
      state.etag = r.etag;
      clearFormError(form, status);
      toast(ctx.t(S, 'saved'));
    } catch (err) {
      showFormError(form, status, err, ctx);
      if (err.stale) staleBox(ctx, status);
    }
  });
  panel.append(form);
}

registerPage('employees', {
  title: { en: 'Employees', ru: 'Сотрудники' },
  titleFor: (me) => (me && me.administrator ? { en: 'Employees', ru: 'Сотрудники' } : { en: 'My card', ru: 'Моя карточка' }),
  adminOnly: false,
  async render(container, ctx) {
    const [first, second] = ctx.params;
    if (!ctx.me.administrator) {
      // Anyone else has one card: their own. The PBX refuses the others whatever the address says.
      const id = first && /^\d+$/.test(first) ? Number(first) : ctx.me.id;
      if (id !== ctx.me.id || !first) {
        ctx.navigate(`/employees/${ctx.me.id}/${TABS.includes(second) ? second : 'card'}`);
        return;
      }
    }
    if (!first) return renderList(container, ctx);
    if (first === 'new') return renderRegister(container, ctx);
    const tab = TABS.includes(second) ? second : 'card';
    container.dataset.keepTab = second ? '1' : '';
    return renderCard(container, ctx, Number(first), tab);
  },
});
