// Shared jest settings for every workspace package: SWC strips types (tsc -b type-checks
// separately), and the "@bilbycast/source" export condition makes workspace imports
// resolve to TypeScript sources instead of dist/.
module.exports = {
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['@bilbycast/source', 'node', 'require', 'default'] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
    // ESM-only dependencies (loaded with require(esm) by Node 20.19+ in production) are
    // compiled to CommonJS for jest's module system.
    '^.+\\.m?js$': ['@swc/jest', { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } }]
  },
  transformIgnorePatterns: ['/node_modules/(?!(jose|@noble|@scure|oidc-provider)/)'],
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  setupFiles: [require.resolve('./test/jest/reject-network.js')]
};
