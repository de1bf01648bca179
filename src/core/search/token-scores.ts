/**
 * What a word scores in one token of a package's text, by the token's place: the table of
 * match.ts `relevance`, read token by token. A query word holds no whitespace, so each of its
 * occurrences lies inside one whitespace-free token, and the word's score in a package is
 * the best over the tokens containing it (0: no match there).
 */

/** The name, whole (it is one token even if it held whitespace). */
export function nameScore(name: string, word: string): number {
  if (name.startsWith(word)) return name.length === word.length ? 1000 : 300 + Math.round((100 * word.length) / name.length)
  let best = 0
  for (let at = name.indexOf(word, 1); at > 0; at = name.indexOf(word, at + 1)) {
    if (isNameSeparator(name.charCodeAt(at - 1))) return 150
    if (word.length > 1) best = 80
  }
  return best
}

/** The first token of a keyword; `whole`: the keyword is that token alone. Later tokens of a keyword score nothing. */
export function keywordScore(token: string, word: string, whole: boolean): number {
  if (!token.startsWith(word)) return 0
  return whole && token.length === word.length ? 60 : 30
}

/** A token of the description: 20 where the word starts a description word, else 10. */
export function descriptionScore(token: string, word: string): number {
  for (let at = token.indexOf(word); at >= 0; at = token.indexOf(word, at + 1)) {
    if (at === 0 || !isWordChar(token.charCodeAt(at - 1))) return 20
  }
  return 10
}

/** A person's name (author, publisher, maintainer) without whitespace: only the whole name counts. */
export function personScore(token: string, word: string): number {
  return token === word ? 15 : 0
}

/** `@ / . _ -`: a name part starts after one of them. */
export function isNameSeparator(code: number): boolean {
  return code === 64 || code === 47 || code === 46 || code === 95 || code === 45
}

/** [0-9a-z]: a description word starts after anything else. */
function isWordChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 97 && code <= 122)
}
