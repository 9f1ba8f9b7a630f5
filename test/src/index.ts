export { testDatabases, createTestDatabase, type TestDatabase, type TestDatabaseKind } from './databases';
export { testConfig } from './config';
export { LogCapture } from './log-capture';
export { TcpProxy } from './tcp-proxy';
