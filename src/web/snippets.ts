/** The Models page's copyable `openai` client snippets (Python and JavaScript) for one model endpoint. */
export interface Snippet {
  language: 'Python' | 'JavaScript';
  code: string;
}

export function openaiSnippets(endpoint: string, model: string): Snippet[] {
  const e = JSON.stringify(endpoint);
  const m = JSON.stringify(model);
  return [
    {
      language: 'Python',
      code: [
        'import os',
        'from openai import OpenAI',
        '',
        `client = OpenAI(base_url=${e}, api_key=os.environ["DSTACK_TOKEN"])`,
        'completion = client.chat.completions.create(',
        `    model=${m},`,
        '    messages=[{"role": "user", "content": "Hello!"}],',
        ')',
        'print(completion.choices[0].message.content)',
      ].join('\n'),
    },
    {
      language: 'JavaScript',
      code: [
        "import OpenAI from 'openai';",
        '',
        `const client = new OpenAI({ baseURL: ${e}, apiKey: process.env.DSTACK_TOKEN });`,
        'const completion = await client.chat.completions.create({',
        `  model: ${m},`,
        "  messages: [{ role: 'user', content: 'Hello!' }],",
        '});',
        'console.log(completion.choices[0].message.content);',
      ].join('\n'),
    },
  ];
}
