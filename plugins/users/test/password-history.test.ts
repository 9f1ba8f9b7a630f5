import { testDatabases } from '@bilbycast/tests';
import { AccountError } from '../src';
import { PASSWORD_HISTORY_SIZE } from '../src/services/password-history';
import { ROOT, startUsersApi, type UsersApi } from './harness';

describe.each(testDatabases())('password history on %s', (kind) => {
  let api: UsersApi;
  beforeAll(async () => {
    api = await startUsersApi(kind);
  });
  afterAll(() => api.stop());

  it('keeps the last replaced passwords; a reset may reuse one (allowReuse), a user’s own change may not; deleting the user forgets them', async () => {
    const accounts = api.manager.context.services.get('accounts')!;
    const { db } = api.manager.context;
    const { id } = await api.createUser({ username: 'paula' });
    const history = () => db('user_password_history').where({ user_id: id });

    const reused = await accounts.setPassword(id, 'Good-pass-1').then(
      () => undefined,
      (err: unknown) => err
    );
    expect(reused).toBeInstanceOf(AccountError);
    expect(reused).toMatchObject({ code: 'password_reused' });
    expect(await history()).toHaveLength(0);

    // A caller that checked another hash than the stored one changes nothing.
    await expect(accounts.setPassword(id, 'Other-pass-1', { expectedHash: 'not-the-stored-hash' })).rejects.toMatchObject({ code: 'password_changed' });
    await accounts.setPassword(id, 'Good-pass-1', { allowReuse: true });
    for (let n = 2; n <= PASSWORD_HISTORY_SIZE + 3; n++) await accounts.setPassword(id, `Good-pass-${n}`);
    expect(await history()).toHaveLength(PASSWORD_HISTORY_SIZE);

    expect((await api.call(ROOT.username, 'DELETE', `/api/v1/users/${id}`)).statusCode).toBe(204);
    expect(await history()).toHaveLength(0);
  });
});
