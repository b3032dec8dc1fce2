// ESLint's flat config for the extension and for the PBX cabinet's pages (pbx/cabinet/static, no
// package of their own). `npm run lint` runs it from the repository's root, over both; each
// pattern is also written from here, for an editor that lints one file of the extension.
import js from '@eslint/js'
import globals from 'globals'

const node = { ...globals.node }

export default [
  { ignores: ['**/dist/', '**/node_modules/'] },
  js.configs.recommended,
  {
    files: ['src/**/*.js', 'extension/src/**/*.js'],
    languageOptions: { globals: { ...globals.browser, ...globals.webextensions } },
  },
  {
    files: ['test/**/*.js', 'bench/**/*.mjs', '*.mjs', '*.js',
      'extension/test/**/*.js', 'extension/bench/**/*.mjs', 'extension/*.mjs', 'extension/*.js'],
    languageOptions: { globals: node },
  },
  {
    files: ['pbx/cabinet/static/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
]
