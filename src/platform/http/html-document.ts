/**
 * The frame of every HTML page the app serves itself (the admin pages, GraphiQL): not for
 * search engines, sized for any screen. `head` and `body` are HTML already escaped.
 */
export function htmlDocument(title: string, head: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title} · Stratum</title>
${head}
</head>
<body>
${body}
</body>
</html>
`;
}
