/**
 * A small XML well-formedness check for the SVG tests: every `<` opens a known construct, tags
 * nest and close, attribute values are quoted without raw `<`, `&` only starts an entity, and there
 * is exactly one root element. Returns the problems found (empty when well-formed).
 */
export function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const token =
    /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<(\/?)([A-Za-z][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*\s*=\s*"[^"<]*")*)\s*(\/?)>/y;
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  const checkText = (text: string, where: number) => {
    for (const m of text.matchAll(/&/g)) {
      if (!/^&(#\d+|#x[0-9a-fA-F]+|amp|lt|gt|quot|apos);/.test(text.slice(m.index))) {
        problems.push(`bare '&' at ${where + m.index}`);
      }
    }
  };
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    checkText(text, i);
    if (stack.length === 0 && text.trim() !== '') problems.push(`text outside the root at ${i}`);
    if (lt < 0) break;
    token.lastIndex = lt;
    const m = token.exec(xml);
    if (!m) {
      problems.push(`malformed markup at ${lt}: ${xml.slice(lt, lt + 40)}`);
      break;
    }
    const [whole, closing, name, attributes, selfClosing] = m;
    if (name) {
      checkText(attributes ?? '', lt);
      if (closing) {
        const open = stack.pop();
        if (open !== name) problems.push(`</${name}> closes <${open}> at ${lt}`);
      } else {
        if (stack.length === 0) roots++;
        if (!selfClosing) stack.push(name);
      }
    }
    i = lt + whole.length;
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(' > ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}
