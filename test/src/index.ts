export { testDatabases, createTestDatabase, type TestDatabase, type TestDatabaseKind } from './databases';
export { testConfig } from './config';
export { LogCapture } from './log-capture';
export { TcpProxy } from './tcp-proxy';
export {
  startOidcProvider,
  signInAtOidcProvider,
  type OidcTestProvider,
  type OidcTestProviderOptions,
  type OidcTestAccount,
  type OidcSignInOptions
} from './oidc-provider-process';
export { selfSignedCertificate } from './certificate';
export { launchBrowser, chromiumPath, saveScreenshot, SCREENSHOT_DIR } from './browser';
