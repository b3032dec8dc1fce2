// Stand-in entry point until the content script exists: it proves that detect.js and the
// libphonenumber-js metadata bundle into one classic script, which is what a content script
// must be (Manifest V3 content scripts cannot be ES modules).
export { findPhoneNumbers } from './detect.js'
