import { InputError } from "../errors.js";

/**
 * Fills `{{name}}` placeholders. A placeholder the data does not have is an error naming the
 * template's file and line, so a typo in a user's template does not ship as literal braces.
 */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>, file: string): string {
  const lines = template.split("\n");
  return lines
    .map((line, i) =>
      line.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, name: string) => {
        const value = values[name];
        if (value === undefined) {
          throw new InputError(
            `unknown placeholder {{${name}}}`,
            { file, line: i + 1 },
            `use one of: ${Object.keys(values)
              .sort()
              .map((k) => `{{${k}}}`)
              .join(", ")}`,
          );
        }
        return value;
      }),
    )
    .join("\n");
}
