/** What the terminal can draw (src/ui/glyphs.ts): the locale's charset and TERM, as htop reads them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drawable, glyphsFor } from '../src/ui/glyphs';

test('the locale decides: LC_ALL over LC_CTYPE over LANG; not UTF-8 is ASCII; the Linux console has no braille', () => {
  assert.equal(glyphsFor({ LANG: 'C.UTF-8', TERM: 'xterm-256color' }), 'unicode');
  assert.equal(glyphsFor({ LANG: 'en_US.utf8' }), 'unicode');
  assert.equal(glyphsFor({ LANG: 'C' }), 'ascii');
  assert.equal(glyphsFor({}), 'ascii', 'no locale at all is the C locale');
  assert.equal(glyphsFor({ LANG: 'C.UTF-8', LC_ALL: 'C' }), 'ascii');
  assert.equal(glyphsFor({ LANG: 'C', LC_CTYPE: 'de_DE.UTF-8' }), 'unicode');
  assert.equal(glyphsFor({ LANG: 'de_DE.ISO-8859-1' }), 'ascii');
  assert.equal(glyphsFor({ LANG: 'C.UTF-8', TERM: 'linux' }), 'console');
  assert.equal(glyphsFor({ LANG: 'C.UTF-8', TERM: 'xterm' }, true), 'ascii', '--ascii');
});

test('every glyph keeps its column: one character for one, braille to * and blank', () => {
  const text = '{bold}Σ USS{/bold} ROLE▲ ▼ · …\n│⠀⠁⣿│ █▓▒░ ├─ └─ ↑/↓ Ω';
  const out = drawable(text, 'ascii');
  assert.equal(out, '{bold}S USS{/bold} ROLE^ v . ~\n| **| #+:. |- `- ^/v ?');
  assert.equal([...out].length, [...text].length);
  assert.ok([...out].every((c) => c.charCodeAt(0) < 0x80));
  assert.equal(drawable('Σ ⣿⠀ █', 'console'), 'Σ *  █', 'the console keeps what its font has');
  assert.equal(drawable('Σ ⣿', 'unicode'), 'Σ ⣿');
});
