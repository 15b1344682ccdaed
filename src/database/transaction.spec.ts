import { ScriptedTx, sqlLiteral } from './transaction.js';

describe('ScriptedTx', () => {
  const recorder = (answers: unknown[] = []) => {
    const sent: string[] = [];
    const tx = new ScriptedTx((sql) => {
      sent.push(sql);
      return Promise.resolve(answers.shift());
    });
    return { sent, tx };
  };

  it('should send BEGIN with the first statement and COMMIT with the last: two round trips', async () => {
    const { sent, tx } = recorder([[{ rows: [] }, { rows: [{ n: 1 }, { n: 2 }] }]]);
    expect(await tx.query('SELECT n FROM t')).toEqual([{ n: 1 }, { n: 2 }]);
    expect(tx.open).toBe(true);
    await tx.commit('DELETE FROM t');
    expect(sent).toEqual(['BEGIN; SELECT n FROM t', 'DELETE FROM t; COMMIT']);
    expect(tx.open).toBe(false);
  });

  it('should answer the rows of a single result, and send a bare COMMIT when there is nothing left to say', async () => {
    const { sent, tx } = recorder([[{ rows: [] }, { rows: [{ a: 1 }] }], { rows: [{ b: 2 }] }]);
    await tx.query('SELECT 1');
    expect(await tx.query('SELECT 2')).toEqual([{ b: 2 }]);
    await tx.commit();
    await tx.commit(); // ended: nothing more is sent
    expect(sent).toEqual(['BEGIN; SELECT 1', 'SELECT 2', 'COMMIT']);
  });

  it('should roll back only a transaction that began and did not end, and refuse statements after the end', async () => {
    const idle = recorder();
    await idle.tx.abort();
    expect(idle.sent).toEqual([]);
    const { sent, tx } = recorder();
    await tx.query('SELECT 1');
    await tx.abort();
    await tx.abort();
    expect(sent).toEqual(['BEGIN; SELECT 1', 'ROLLBACK']);
    await expect(tx.query('SELECT 2')).rejects.toThrow(/ended/);
  });

  it('should leave a transaction whose final message failed open, for abort to roll it back', async () => {
    const sent: string[] = [];
    const tx = new ScriptedTx((sql) => {
      sent.push(sql);
      return sql.startsWith('DELETE') ? Promise.reject(new Error('deadlock detected')) : Promise.resolve({ rows: [] });
    });
    await tx.query('SELECT 1');
    await expect(tx.commit('DELETE FROM t')).rejects.toThrow(/deadlock/);
    expect(tx.open).toBe(true);
    await tx.abort();
    expect(sent).toEqual(['BEGIN; SELECT 1', 'DELETE FROM t; COMMIT', 'ROLLBACK']);
    expect(tx.open).toBe(false);
  });

  it('should write a commit-only transaction as one message', async () => {
    const { sent, tx } = recorder();
    await tx.commit('UPDATE t SET a = 1');
    expect(sent).toEqual(['BEGIN; UPDATE t SET a = 1; COMMIT']);
  });
});

describe('sqlLiteral', () => {
  it('should quote strings (quotes doubled, backslashes in an E-string, NUL dropped) and check integers', () => {
    expect(sqlLiteral("it's")).toBe("'it''s'");
    expect(sqlLiteral('a\\b')).toBe(" E'a\\\\b'");
    expect(sqlLiteral('a\u0000b')).toBe("'ab'");
    expect(sqlLiteral(42)).toBe('42');
    expect(sqlLiteral(true)).toBe('true');
    expect(sqlLiteral(null)).toBe('NULL');
    expect(() => sqlLiteral(1.5)).toThrow(/integer/);
    expect(() => sqlLiteral(Number.NaN)).toThrow(/integer/);
  });
});
