// The audit log: who changed what and when, newest first, filtered by employee (what they did
// and what was done to their card, scheme and SIP accounts) and by resource; the PBX filters
// (GET /audit?employee_id=&resource=&before_id=), so the page stays quick on a long log.

import { registerPage, el, errorText } from '../app.js';

const S = {
  en: {
    title: 'Audit log', employee: 'Employee', anyone: 'Anyone', resource: 'Resource', anything: 'Anything',
    apply: 'Show', when: 'When (UTC)', who: 'Who', action: 'Action', what: 'Resource', details: 'Details',
    empty: 'No entries match.', more: 'Older entries', shown: '{n} entries shown.',
    resources: { employee: 'Employees', scheme: 'Receive schemes', credentials: 'Credentials read', settings: 'PBX settings',
      calendar: 'Production calendar', 'contacts.company': 'Company address book', 'contacts.personal': 'Personal contacts',
      numbers: 'Numbers' },
  },
  ru: {
    title: 'Журнал изменений', employee: 'Сотрудник', anyone: 'Любой', resource: 'Раздел', anything: 'Любой',
    apply: 'Показать', when: 'Когда (UTC)', who: 'Кто', action: 'Действие', what: 'Раздел', details: 'Подробности',
    empty: 'Записей нет.', more: 'Более ранние записи', shown: 'Показано записей: {n}.',
    resources: { employee: 'Сотрудники', scheme: 'Схемы приёма', credentials: 'Просмотр учётных данных', settings: 'Настройки ВАТС',
      calendar: 'Производственный календарь', 'contacts.company': 'Адресная книга компании', 'contacts.personal': 'Личные контакты',
      numbers: 'Номера' },
  },
};

const PAGE = 100;

registerPage('audit', {
  title: { en: 'Audit log', ru: 'Журнал' },
  adminOnly: true,
  async render(container, ctx) {
    const t = (key, vars) => ctx.t(S, key, vars);
    const words = S[ctx.lang] || S.en;
    const query = new URLSearchParams(ctx.params[0] || '');
    const { body: employees } = await ctx.api.get('/employees');
    const who = el('select', { id: 'audit-employee', name: 'employee_id' }, el('option', { value: '' }, t('anyone')),
      [...employees].sort((a, b) => a.name.localeCompare(b.name)).map((e) => el('option', { value: String(e.id),
        selected: query.get('employee_id') === String(e.id) }, `${e.name} (${e.extension})`)));
    const what = el('select', { id: 'audit-resource', name: 'resource' }, el('option', { value: '' }, t('anything')),
      Object.entries(words.resources).map(([value, text]) => el('option', { value, selected: query.get('resource') === value }, text)));
    const status = el('p', { class: 'error', role: 'alert', id: 'audit-status' });
    const counter = el('p', { class: 'muted', 'aria-live': 'polite', id: 'audit-count' });
    const body = el('tbody', {});
    const more = el('button', { type: 'button', id: 'audit-more', hidden: true }, t('more'));
    let shown = 0;
    let oldest = null;

    async function load(reset) {
      const params = new URLSearchParams({ limit: String(PAGE), before_id: String(reset || oldest === null ? 2 ** 31 - 1 : oldest) });
      if (who.value) params.set('employee_id', who.value);
      if (what.value) params.set('resource', what.value);
      try {
        const { body: entries } = await ctx.api.get(`/audit?${params}`);
        if (reset) { body.replaceChildren(); shown = 0; }
        for (const e of entries) {
          body.append(el('tr', { 'data-action': e.action, 'data-resource': e.resource },
            el('td', { class: 'mono' }, e.at.replace('T', ' ').slice(0, 19)),
            el('td', {}, e.actor),
            el('td', { class: 'mono' }, e.action),
            el('td', {}, `${words.resources[e.resource] || e.resource}${e.resource_id ? ` #${e.resource_id}` : ''}`),
            el('td', { class: 'mono details' }, Object.keys(e.details || {}).length ? JSON.stringify(e.details) : '')));
        }
        shown += entries.length;
        if (entries.length) oldest = entries[entries.length - 1].id;
        if (!shown) body.append(el('tr', {}, el('td', { colspan: 5, class: 'muted' }, t('empty'))));
        more.hidden = entries.length < PAGE;
        counter.textContent = t('shown', { n: shown });
        status.textContent = '';
      } catch (err) {
        status.textContent = errorText(err, ctx);
      }
    }

    const form = el('form', { class: 'card filters', id: 'audit-filters' },
      el('div', { class: 'pair' },
        el('span', {}, el('label', { for: 'audit-employee' }, t('employee')), who),
        el('span', {}, el('label', { for: 'audit-resource' }, t('resource')), what),
        el('button', { type: 'submit', class: 'primary', id: 'audit-apply' }, t('apply'))));
    form.addEventListener('submit', (ev) => { ev.preventDefault(); oldest = null; load(true); });
    more.addEventListener('click', () => load(false));
    container.append(el('h1', {}, t('title')), form, status, counter,
      el('div', { class: 'table-wrap' }, el('table', { id: 'audit-table' },
        el('thead', {}, el('tr', {}, [t('when'), t('who'), t('action'), t('what'), t('details')]
          .map((h) => el('th', { scope: 'col' }, h)))), body)),
      more);
    await load(true);
  },
});
