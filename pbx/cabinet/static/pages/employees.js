import { registerPage, el } from '../app.js';

const S = { en: { title: 'Employees' }, ru: { title: 'Сотрудники' } };

registerPage('employees', {
  title: { en: 'Employees', ru: 'Сотрудники' },
  adminOnly: false,
  render(container, ctx) {
    container.append(el('h1', {}, ctx.t(S, 'title')));
  },
});
