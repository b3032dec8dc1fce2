// One sentence for the user about a failed request. The app's own message where it gave one
// (it is in the user's language and says exactly what is wrong); ours for what goes wrong
// before the app (native.js codes), where there is no app to say it.

import { t } from './api.js'

export function errorText(error) {
  switch (error?.code) {
    case 'app_not_running':
    case 'host_exited':
      return t('errorAppNotRunning')
    case 'host_missing':
      return t('errorHostMissing')
    case 'timeout':
      return t('errorTimeout')
    case 'extension_gone':
      return t('errorReloadPage')
    default:
      return error?.message || t('errorGeneric')
  }
}
