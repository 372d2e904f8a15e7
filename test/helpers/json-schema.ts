// The --json contract as docs/json.md writes it down, read from that page, and a small validator
// for it: a value must have every field of its type, no other field (unless the type has a `*`
// row), and each field of the type the page gives. The page is the only copy of the schema, so
// the page and the program cannot drift apart unnoticed.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {ROOT} from './cli.js'

/** A scalar type: its JSON kind and, for strings, the pattern it must match. */
export interface Scalar {
  json: 'string' | 'number' | 'boolean' | 'null' | 'object'
  pattern?: RegExp
  integer?: boolean
}

/** A type of the page: its fields (name, type expression) and whether other fields are allowed. */
export interface ObjectType {
  fields: Array<{name: string; type: string}>
  open: boolean
}

/** The whole contract: scalars, object types, and the result types of each command. */
export interface JsonContract {
  scalars: Map<string, Scalar>
  types: Map<string, ObjectType>
  /** command id (e.g. "plugin install") to the result types the page lists for it. */
  commands: Map<string, string[]>
}

/** The cells of a markdown table row; `\|` stays inside a cell, as a `|`. */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replaceAll(String.raw`\|`, '|'))
}

/** The text between the first pair of backticks, or the cell as is. */
function code(cell: string): string {
  const m = /^`([^`]*)`$/.exec(cell)
  return m ? m[1]! : cell
}

/** Parses the contract out of the text of docs/json.md. */
export function parseContract(markdown: string): JsonContract {
  const scalars = new Map<string, Scalar>()
  const types = new Map<string, ObjectType>()
  const commands = new Map<string, string[]>()
  let section = ''
  let heading = ''
  for (const line of markdown.split('\n')) {
    if (line.startsWith('## ')) {
      section = line.slice(3).trim()
      heading = ''
      continue
    }

    if (line.startsWith('### ')) {
      heading = line.slice(4).trim()
      continue
    }

    if (!line.startsWith('|') || /^\|[-| ]+\|$/.test(line.trim())) continue
    const row = cells(line)
    if (['type', 'field', 'command'].includes(row[0]!)) continue // a header row
    if (section === 'Scalar types') {
      const [name, json, pattern] = row
      const scalar: Scalar = {json: json as Scalar['json']}
      if (pattern) scalar.pattern = new RegExp(code(pattern))
      if (code(name!) === 'integer') scalar.integer = true
      scalars.set(code(name!), scalar)
    } else if (section === 'Commands') {
      const results = [...row[1]!.matchAll(/`([A-Z][A-Za-z]*)`/g)].map((m) => m[1]!)
      commands.set(code(row[0]!), results)
    } else if (heading !== '') {
      const type = types.get(heading) ?? {fields: [], open: false}
      types.set(heading, type)
      const name = code(row[0]!)
      if (name === '*') type.open = true
      else type.fields.push({name, type: code(row[1]!)})
    }
  }

  return {scalars, types, commands}
}

let loaded: JsonContract | undefined

/** The contract of docs/json.md in this repository. */
export function contract(): JsonContract {
  loaded ??= parseContract(readFileSync(join(ROOT, 'docs', 'json.md'), 'utf8'))
  return loaded
}

function kind(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

/** The problems of `value` as an instance of the type expression `type` (empty when it is one). */
export function check(value: unknown, type: string, where = '$', c: JsonContract = contract()): string[] {
  const alternatives = type.split('|').map((t) => t.trim())
  let best: string[] | undefined
  for (const alt of alternatives) {
    const problems = checkOne(value, alt, where, c)
    if (problems.length === 0) return []
    // report the alternative of the value's own kind (e.g. Block for an object, not null)
    if (best === undefined || !problems[0]!.startsWith(`${where}: expected`)) best = problems
  }

  return alternatives.length === 1 ? best! : [`${where}: not ${type}: ${best!.join('; ')}`]
}

function checkOne(value: unknown, type: string, where: string, c: JsonContract): string[] {
  if (type === 'any') return []
  if (type.startsWith('"')) {
    const literal = JSON.parse(type) as string
    return value === literal ? [] : [`${where}: expected ${type}, got ${JSON.stringify(value)}`]
  }

  if (type.endsWith('[]')) {
    if (!Array.isArray(value)) return [`${where}: expected ${type}, got ${kind(value)}`]
    return value.flatMap((v, i) => check(v, type.slice(0, -2), `${where}[${i}]`, c))
  }

  const scalar = c.scalars.get(type)
  if (scalar) {
    if (kind(value) !== scalar.json) return [`${where}: expected ${type} (${scalar.json}), got ${kind(value)}`]
    if (scalar.integer && !Number.isSafeInteger(value)) return [`${where}: expected an integer, got ${value}`]
    if (scalar.pattern && !scalar.pattern.test(value as string))
      return [`${where}: ${JSON.stringify(value)} is not ${type} (${scalar.pattern})`]
    return []
  }

  const object = c.types.get(type)
  if (!object) return [`${where}: the type ${type} is not defined in docs/json.md`]
  if (kind(value) !== 'object') return [`${where}: expected ${type} (object), got ${kind(value)}`]
  const record = value as Record<string, unknown>
  const problems: string[] = []
  for (const field of object.fields) {
    if (field.name in record) problems.push(...check(record[field.name], field.type, `${where}.${field.name}`, c))
    else problems.push(`${where}.${field.name}: missing (${type} has it)`)
  }

  if (!object.open) {
    const known = new Set(object.fields.map((f) => f.name))
    for (const key of Object.keys(record))
      if (!known.has(key)) problems.push(`${where}.${key}: not a field of ${type} in docs/json.md`)
  }

  return problems
}

/** Fails (throws) with every problem of `value` as a `type`. */
export function assertShape(value: unknown, type: string, what = type): void {
  const problems = check(value, type)
  if (problems.length > 0)
    throw new Error(
      `${what}: does not match ${type} of docs/json.md:\n  ${problems.join('\n  ')}\n${JSON.stringify(value, null, 2).slice(0, 3000)}`,
    )
}
