// The company address book (everyone reads it, Administrators change it) and the user's own
// contacts, with one search over both. Edits carry the ETag of the contact they started from.

import { registerPage, el, clearFormError, errorText, showFormError, toast } from '../app.js';

const S = {
  en: {
    title: 'Address book', search: 'Search by name, number or note', company: 'Company address book',
    personal: 'My contacts', name: 'Name', number: 'Number', note: 'Note', actions: 'Actions',
    empty: 'Nothing here yet.', noMatch: 'Nothing matches “{q}”.', edit: 'Edit', editWhat: 'Edit {name}',
    removeWhat: 'Remove {name}', addTitleCompany: 'Add to the company address book', addTitlePersonal: 'Add to my contacts',
    added: '{name} added.', savedWhat: '{name} saved.', removed: '{name} removed.',
    removeConfirm: 'Remove {name} from the address book?', readOnly: 'Only members of Administrators change the company address book.',
    count: '{shown} of {total}',
  },
  ru: {
    title: 'Адресная книга', search: 'Поиск по имени, номеру или заметке', company: 'Адресная книга компании',
    personal: 'Мои контакты', name: 'Имя', number: 'Номер', note: 'Заметка', actions: 'Действия',
    empty: 'Здесь пока пусто.', noMatch: 'Ничего не найдено по запросу «{q}».', edit: 'Изменить', editWhat: 'Изменить {name}',
    removeWhat: 'Удалить {name}', addTitleCompany: 'Добавить в адресную книгу компании', addTitlePersonal: 'Добавить в мои контакты',
    added: '{name} добавлен(а).', savedWhat: '{name}: сохранено.', removed: '{name} удалён(а).',
    removeConfirm: 'Удалить {name} из адресной книги?', readOnly: 'Менять адресную книгу компании могут только члены группы «Администраторы».',
    count: '{shown} из {total}',
  },
};

const digits = (s) => String(s || '').replace(/\D/g, '');

registerPage('contacts', {
  title: { en: 'Address book', ru: 'Адресная книга' },
  adminOnly: false,
  async render(container, ctx) {
    const t = (key, vars) => ctx.t(S, key, vars);
    const admin = Boolean(ctx.me && ctx.me.administrator);
    const [company, personal] = await Promise.all([ctx.api.get('/contacts/company'), ctx.api.get('/contacts/personal')]);
    const books = [
      { id: 'company', title: t('company'), rows: company.body, editable: admin, addTitle: t('addTitleCompany') },
      { id: 'personal', title: t('personal'), rows: personal.body, editable: true, addTitle: t('addTitlePersonal') },
    ];
    const search = el('input', { type: 'search', id: 'contacts-search', autocomplete: 'off' });
    const status = el('p', { class: 'error', role: 'alert', id: 'contacts-status' });
    const sections = books.map((book) => {
      const body = el('tbody', {});
      const counter = el('p', { class: 'muted', 'aria-live': 'polite', id: `contacts-${book.id}-count` });
      const section = el('section', { 'aria-labelledby': `contacts-${book.id}-title`, id: `contacts-${book.id}` },
        el('h2', { id: `contacts-${book.id}-title` }, book.title),
        book.id === 'company' && !admin ? el('p', { class: 'muted' }, t('readOnly')) : null,
        counter,
        el('div', { class: 'table-wrap' }, el('table', {},
          el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('name')), el('th', { scope: 'col' }, t('number')),
            el('th', { scope: 'col', class: 'hide-narrow' }, t('note')), book.editable ? el('th', { scope: 'col' }, t('actions')) : null)),
          body)),
        book.editable ? addForm(book) : null);
      return { book, body, counter, section };
    });

    function matches(c, q) {
      if (!q) return true;
      const low = q.toLowerCase();
      const d = digits(q);
      return c.name.toLowerCase().includes(low) || c.note.toLowerCase().includes(low)
        || c.number.toLowerCase().includes(low) || (d.length >= 2 && digits(c.number).includes(d));
    }

    function draw() {
      const q = search.value.trim();
      for (const { book, body, counter } of sections) {
        const shown = book.rows.filter((c) => matches(c, q)).sort((a, b) => a.name.localeCompare(b.name));
        counter.textContent = t('count', { shown: shown.length, total: book.rows.length });
        body.replaceChildren(...shown.map((c) => row(book, c)));
        if (!shown.length) {
          body.append(el('tr', {}, el('td', { colspan: book.editable ? 4 : 3, class: 'muted' },
            q ? t('noMatch', { q }) : t('empty'))));
        }
      }
    }

    function row(book, c) {
      const tr = el('tr', { 'data-contact': String(c.id) }, el('td', {}, c.name), el('td', { class: 'mono' }, c.number),
        el('td', { class: 'hide-narrow' }, c.note));
      if (book.editable) {
        tr.append(el('td', {},
          el('button', { type: 'button', class: 'edit', 'aria-label': t('editWhat', { name: c.name }),
            onclick: () => tr.replaceWith(editRow(book, c)) }, t('edit')), ' ',
          el('button', { type: 'button', class: 'danger remove', 'aria-label': t('removeWhat', { name: c.name }),
            onclick: async () => {
              if (!window.confirm(t('removeConfirm', { name: c.name }))) return;
              try {
                await ctx.api.send('DELETE', `/contacts/${book.id}/${c.id}`);
                book.rows = book.rows.filter((x) => x.id !== c.id);
                toast(t('removed', { name: c.name }));
                draw();
                search.focus();
              } catch (err) { status.textContent = errorText(err, ctx); }
            } }, ctx.t(S, 'remove'))));
      }
      return tr;
    }

    function inputs(prefix, c) {
      return ['name', 'number', 'note'].map((field) => {
        const id = `${prefix}-${field}`;
        return [el('label', { for: id }, t(field)), el('input', { id, name: field, value: c ? c[field] : '', autocomplete: 'off',
          required: field !== 'note', type: field === 'number' ? 'tel' : 'text' })];
      });
    }

    function editRow(book, c) {
      const formStatus = el('p', { class: 'error', role: 'alert' });
      const form = el('form', { class: 'inline-form', id: `contact-edit-${c.id}` }, inputs(`contact-${c.id}`, c), formStatus,
        el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, ctx.t(S, 'save')),
          el('button', { type: 'button', onclick: () => draw() }, ctx.t(S, 'cancel'))));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const data = Object.fromEntries(new FormData(form));
        try {
          const r = await ctx.api.send('PATCH', `/contacts/${book.id}/${c.id}`, data, { etag: `"${c.version}"` });
          book.rows = book.rows.map((x) => (x.id === c.id ? r.body : x));
          toast(t('savedWhat', { name: r.body.name }));
          draw();
        } catch (err) {
          showFormError(form, formStatus, err, ctx);
          if (err.stale) formStatus.append(' ', el('button', { type: 'button', class: 'link', onclick: () => ctx.reload() }, ctx.t(S, 'reload')));
        }
      });
      const tr = el('tr', { 'data-contact': String(c.id) }, el('td', { colspan: 4 }, form));
      setTimeout(() => form.querySelector('input').focus(), 0);
      return tr;
    }

    function addForm(book) {
      const formStatus = el('p', { class: 'error', role: 'alert' });
      const form = el('form', { class: 'card', id: `contact-add-${book.id}` }, el('h3', {}, book.addTitle),
        inputs(`contact-add-${book.id}`), formStatus,
        el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, ctx.t(S, 'add'))));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const data = Object.fromEntries(new FormData(form));
        try {
          const r = await ctx.api.send('POST', `/contacts/${book.id}`, data);
          book.rows.push(r.body);
          form.reset();
          clearFormError(form, formStatus);
          toast(t('added', { name: r.body.name }));
          draw();
        } catch (err) { showFormError(form, formStatus, err, ctx); }
      });
      return form;
    }

    search.addEventListener('input', draw);
    container.append(el('h1', {}, t('title')), el('label', { for: 'contacts-search' }, t('search')), search, status,
      ...sections.map((s) => s.section));
    draw();
  },
});
