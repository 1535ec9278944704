/** The one sanitizer, on the strings the shared-server issue was reproduced with. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isClean, safeJson, sanitize } from '../src/format/sanitize';
import { esc } from '../src/ui/theme';

test('terminal controls become visible text', () => {
  assert.equal(sanitize('\x1b]2;TITLE\x07\x1b[2J'), '\\x1b]2;TITLE\\x07\\x1b[2J');
  assert.equal(sanitize('\x1b[30;40m\x1b[8mhidden'), '\\x1b[30;40m\\x1b[8mhidden');
  assert.equal(sanitize('a\nb\tc\x7f\x9bd'), 'a\\x0ab\\x09c\\x7f\\x9bd');
  assert.equal(sanitize('abc\u202etxt.exe'), 'abc\\u202etxt.exe');
  assert.equal(
    sanitize('gunicorn: worker [app] é ✓'),
    'gunicorn: worker [app] é ✓',
    'printable text, any script, is kept',
  );
  assert.ok(isClean(sanitize('\x00\x01\x1f\x80\x9f\u2066')));
});

test('safeJson stays JSON and parses back to the same value, with no raw C1 or DEL', () => {
  const value = { name: '\x1b[2J\x9b31m\x7f\u202e', n: 1 };
  const text = safeJson(value);
  assert.deepEqual(JSON.parse(text), value);
  assert.ok(isClean(text), text);
  const pretty = safeJson(value, 2);
  assert.deepEqual(JSON.parse(pretty), value, 'pretty-printed too');
  assert.match(pretty, /^\{\n {2}"name"/);
});

test('the dashboard escape sanitizes as well as escaping blessed tags', () => {
  assert.equal(esc('{bold}\x1b[8m'), '{open}bold{close}\\x1b[8m');
});
