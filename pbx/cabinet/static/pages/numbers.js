// The PBX's numbers: where each inbound number leads, adding and removing them, and the
// "Add number…" link to the shop configured in the PBX settings.

import { registerPage, el, errorText, showFormError, toast } from '../app.js';

const S = {
  en: {
    title: 'Numbers',
    number: 'Number', label: 'Label', leadsTo: 'Calls to it ring', nobody: 'nobody',
    actions: 'Actions', none: 'The PBX has no numbers yet.',
    buy: 'Add number… (shop)', noShop: 'Set the shop address in PBX settings to buy numbers here.',
    addTitle: 'Add a number the PBX already has', removeNumber: 'Remove {number}',
    removeConfirm: 'Remove the number {number}? Employees who call out with it fall back to the PBX default.',
    added: '{number} added.', removed: '{number} removed.',
  },
  ru: {
    title: 'Номера',
    number: 'Номер', label: 'Подпись', leadsTo: 'Звонки на него приходят', nobody: 'никому',
    actions: 'Действия', none: 'У ВАТС пока нет номеров.',
    buy: 'Добавить номер… (магазин)', noShop: 'Укажите адрес магазина в настройках ВАТС, чтобы покупать номера отсюда.',
    addTitle: 'Добавить номер, который у ВАТС уже есть', removeNumber: 'Удалить {number}',
    removeConfirm: 'Удалить номер {number}? Сотрудники, звонившие с него, перейдут на номер ВАТС по умолчанию.',
    added: '{number} добавлен.', removed: '{number} удалён.',
  },
};

registerPage('numbers', {
  title: { en: 'Numbers', ru: 'Номера' },
  adminOnly: true,
  async render(container, ctx) {
    const t = (key, vars) => ctx.t(S, key, vars);
    const [{ body: numbers }, { body: employees }] = await Promise.all([ctx.api.get('/numbers'),
      ctx.api.get('/employees')]);
    const names = new Map(employees.map((e) => [e.id, `${e.name} (${e.extension})`]));
    const status = el('p', { class: 'error', role: 'alert' });
    const rows = numbers.numbers.map((n) => el('tr', {},
      el('td', {}, n.number), el('td', {}, n.label),
      el('td', {}, n.inbound_employee_id ? el('a', { href: `#/employees/${n.inbound_employee_id}/scheme` },
        names.get(n.inbound_employee_id) || `#${n.inbound_employee_id}`) : el('span', { class: 'muted' }, t('nobody'))),
      el('td', {}, el('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!window.confirm(t('removeConfirm', { number: n.number }))) return;
        try {
          await ctx.api.send('DELETE', `/numbers/${n.id}`);
          toast(t('removed', { number: n.number }));
          ctx.reload();
        } catch (err) {
          status.textContent = errorText(err, ctx);
        }
      }, 'aria-label': t('removeNumber', { number: n.number }) }, ctx.t(S, 'remove')))));
    const shop = numbers.buy_numbers_url
      ? el('a', { href: numbers.buy_numbers_url, target: '_blank', rel: 'noopener noreferrer', id: 'buy-numbers' }, t('buy'))
      : el('span', { class: 'muted' }, t('noShop'));
    const formStatus = el('p', { class: 'error', role: 'alert' });
    const form = el('form', { class: 'card', id: 'add-number-form' }, el('h2', {}, t('addTitle')),
      el('label', { for: 'number-number' }, t('number')),
      el('input', { id: 'number-number', name: 'number', type: 'tel', required: true, autocomplete: 'off' }),
      el('label', { for: 'number-label' }, t('label')),
      el('input', { id: 'number-label', name: 'label', autocomplete: 'off' }),
      el('label', { for: 'number-inbound' }, t('leadsTo')),
      el('select', { id: 'number-inbound', name: 'inbound_employee_id' }, el('option', { value: '' }, t('nobody')),
        employees.map((e) => el('option', { value: String(e.id) }, names.get(e.id)))),
      formStatus,
      el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, ctx.t(S, 'add'))));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const inbound = form.elements.inbound_employee_id.value;
      try {
        const { body } = await ctx.api.send('POST', '/numbers', { number: form.elements.number.value.trim(),
          label: form.elements.label.value.trim(), inbound_employee_id: inbound ? Number(inbound) : null });
        toast(t('added', { number: body.number }));
        ctx.reload();
      } catch (err) {
        showFormError(form, formStatus, err, ctx);
      }
    });
    container.append(el('h1', {}, t('title')), el('div', { class: 'actions' }, shop), status,
      rows.length ? el('div', { class: 'table-wrap' }, el('table', { id: 'number-list' },
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('number')), el('th', { scope: 'col' }, t('label')),
          el('th', { scope: 'col' }, t('leadsTo')), el('th', { scope: 'col' }, t('actions')))),
        el('tbody', {}, rows))) : el('p', { class: 'muted' }, t('none')),
      form);
  },
});
