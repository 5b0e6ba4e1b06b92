// Generates a Wireshark Lua dissector from a C-struct schema, for the inspector's pcapng export (link type
// LINKTYPE_USER0). Every field of a record type gets a display-filter name `<proto>.<record>.<member>`
// (`sipc.sample.value`; array items repeat their field), so `tshark -T fields -e sipc.sample.value` prints what
// the inspector shows. The dissector reads exactly the bytes the TypeScript decoder reads, with the same layout
// (offsets are computed here, not by Wireshark), and marks fields a short message does not hold as missing and
// unknown tags as such, through expert info.
import type { MessageSpec } from './messages';
import { SchemaError, type ArrayType, type CSchema, type CType, type Endian, type Field, type IntType, type RecordType } from './types';

export interface LuaOptions {
  /** Protocol name and filter prefix: lower-case letters, digits and '_' (default "sipc"). */
  readonly protocol?: string;
  /** One line for the file's header comment, e.g. the channel pattern and schema file. */
  readonly origin?: string;
}

const luaString = (s: string) => JSON.stringify(s);

/** A record type's name as a filter component: "struct sample" -> "sample", "union value" -> "value". */
export function recordKey(type: RecordType): string {
  return type.name.replace(/^(struct|union) /, '').replace(/[^A-Za-z0-9_]/g, '_');
}

interface Context {
  readonly schema: CSchema;
  readonly protocol: string;
  readonly fieldDecls: string[];
  readonly functions: Map<RecordType, string>;
  readonly functionBodies: string[];
  readonly valueStrings: Map<CType, string>;
  readonly usedFieldNames: Set<string>;
}

function intFieldType(type: IntType, bytes: number): string {
  const bits = bytes <= 1 ? 8 : bytes <= 2 ? 16 : bytes <= 3 ? 24 : bytes <= 4 ? 32 : 64;
  return `${type.signed ? 'int' : 'uint'}${bits}`;
}

/** Declares a ProtoField and returns its Lua variable name. */
function declareField(ctx: Context, filter: string, label: string, kind: string, extra = ''): string {
  let name = filter;
  for (let n = 2; ctx.usedFieldNames.has(name); n++) name = `${filter}_${n}`;
  ctx.usedFieldNames.add(name);
  const variable = `f_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  ctx.fieldDecls.push(`local ${variable} = ProtoField.${kind}(${luaString(name)}, ${luaString(label)}${extra})`);
  ctx.fieldDecls.push(`table.insert(fields, ${variable})`);
  return variable;
}

function valueStringTable(ctx: Context, type: CType): string {
  if (type.kind !== 'enum') return 'nil';
  const existing = ctx.valueStrings.get(type);
  if (existing) return existing;
  const variable = `vs_${ctx.valueStrings.size + 1}`;
  const entries = [...type.names].map(([v, n]) => `[${v}] = ${luaString(n)}`).join(', ');
  ctx.fieldDecls.push(`local ${variable} = { ${entries} }`);
  ctx.valueStrings.set(type, variable);
  return variable;
}

/** Lua statements that add one member (at `base + offset`) to `tree`. */
function memberCode(ctx: Context, record: RecordType, field: Field, endian: Endian, indent: string): string[] {
  const key = recordKey(record);
  const filter = `${ctx.protocol}.${key}.${field.name}`;
  const label = field.name;
  const add = endian === 'little' ? 'add_le' : 'add';
  const type = field.type;
  const out: string[] = [];

  if (field.bitWidth !== undefined) {
    const intType = type.kind === 'enum' ? type.base : (type as IntType);
    const bytes = Math.ceil(((field.bitOffset ?? 0) + field.bitWidth) / 8);
    const wide = intType.size > 4 || field.bitWidth > 32;
    const variable = declareField(ctx, filter, label, wide ? (intType.signed ? 'int64' : 'uint64') : (intType.signed ? 'int32' : 'uint32'), `, base.DEC, ${valueStringTable(ctx, type)}`);
    out.push(`${indent}if have(tvb, base + ${field.offset}, ${bytes}) then`);
    out.push(`${indent}  local v = bits(tvb(base + ${field.offset}, ${bytes}), ${field.bitOffset ?? 0}, ${field.bitWidth}, ${intType.signed})`);
    out.push(`${indent}  tree:add(${variable}, tvb(base + ${field.offset}, ${bytes}), ${wide ? 'v' : 'v:tonumber()'})`);
    out.push(`${indent}else missing(tree, ${luaString(label)}) end`);
    return out;
  }
  const at = `base + ${field.offset}`;
  switch (type.kind) {
    case 'int': case 'enum': case 'pointer': {
      const intType: IntType = type.kind === 'enum' ? type.base : type.kind === 'pointer'
        ? { kind: 'int', name: type.name, size: type.size, align: type.align, signed: false } : type;
      const variable = declareField(ctx, filter, label, intFieldType(intType, intType.size), `, base.DEC, ${valueStringTable(ctx, type)}`);
      out.push(`${indent}if have(tvb, ${at}, ${type.size}) then tree:${add}(${variable}, tvb(${at}, ${type.size})) else missing(tree, ${luaString(label)}) end`);
      return out;
    }
    case 'float': {
      if (type.size !== 4 && type.size !== 8) {
        const variable = declareField(ctx, filter, label, 'bytes');
        out.push(`${indent}if have(tvb, ${at}, ${type.size}) then tree:add(${variable}, tvb(${at}, ${type.size})) else missing(tree, ${luaString(label)}) end`);
        return out;
      }
      const variable = declareField(ctx, filter, label, type.size === 4 ? 'float' : 'double');
      out.push(`${indent}if have(tvb, ${at}, ${type.size}) then tree:${add}(${variable}, tvb(${at}, ${type.size})) else missing(tree, ${luaString(label)}) end`);
      return out;
    }
    case 'array': return arrayCode(ctx, record, field, type, endian, indent, filter, label);
    case 'struct': case 'union': {
      const fn = recordFunction(ctx, type);
      out.push(`${indent}${fn}(tvb, tree:add(tvb(math.min(${at}, tvb:len()), math.max(0, math.min(${type.size}, tvb:len() - (${at})))), ${luaString(field.name || `(anonymous ${type.kind})`)}), ${at})`);
      return out;
    }
  }
}

function arrayCode(ctx: Context, record: RecordType, field: Field, type: ArrayType, endian: Endian, indent: string, filter: string, label: string): string[] {
  const out: string[] = [];
  const element = type.element;
  const at = `base + ${field.offset}`;
  const count = type.length === undefined
    ? `math.max(0, math.floor((tvb:len() - (${at})) / ${Math.max(1, element.size)}))`
    : String(type.length);
  if (element.kind === 'int' && element.char) {
    const variable = declareField(ctx, filter, label, 'string');
    const size = type.length === undefined ? `math.max(0, tvb:len() - (${at}))` : String(type.size);
    out.push(`${indent}if have(tvb, ${at}, ${size}) then local r = tvb(${at}, ${size}); tree:add(${variable}, r, cstring(r)) else missing(tree, ${luaString(label)}) end`);
    return out;
  }
  // Items repeat the array's field; nested arrays and records recurse through a synthetic member.
  const item: Field = { name: field.name, type: element, offset: 0 };
  out.push(`${indent}do local items = tree:add(tvb(math.min(${at}, tvb:len()), 0), ${luaString(`${label} [${type.length ?? 'flexible'}]`)})`);
  out.push(`${indent}for i = 0, ${count} - 1 do`);
  out.push(`${indent}  local base = ${at} + i * ${element.size}`);
  if (element.size > 0) {
    // The elements that start beyond the message are one expert info, not one each (as the decoders report them).
    out.push(`${indent}  if base >= tvb:len() then missing(items, ${luaString(`${label}[`)} .. i .. ${luaString(']–[')} .. (${count} - 1) .. "] ("`
      + ` .. (${count} - i) .. " of " .. ${count} .. " element" .. (${count} == 1 and "" or "s") .. ")") break end`);
  }
  out.push(`${indent}  local tree = items`);
  out.push(...memberCode(ctx, record, item, endian, `${indent}  `));
  out.push(`${indent}end end`);
  return out;
}

function recordFunction(ctx: Context, type: RecordType): string {
  const existing = ctx.functions.get(type);
  if (existing) return existing;
  const name = `dissect_${recordKey(type)}_${ctx.functions.size + 1}`;
  ctx.functions.set(type, name);
  const endian = type.endian ?? ctx.schema.endian;
  const body: string[] = [`local function ${name}(tvb, tree, base)`];
  for (const f of type.fields) {
    if (f.name === '' && (f.type.kind === 'struct' || f.type.kind === 'union')) {
      const fn = recordFunction(ctx, f.type);
      body.push(`  ${fn}(tvb, tree, base + ${f.offset})`);
      continue;
    }
    body.push(...memberCode(ctx, type, f, endian, '  '));
  }
  body.push('end');
  ctx.functionBodies.push(body.join('\n'));
  return name;
}

function resolveRecord(schema: CSchema, name: string): RecordType {
  const type = schema.lookup(name);
  if (!type || (type.kind !== 'struct' && type.kind !== 'union')) throw new SchemaError('BAD_MAPPING', `"${name}" is not a struct or union of the schema`);
  return type;
}

/** The dissector's Lua source for a C schema and a message spec (one type, or a tagged union). */
export function generateLuaDissector(schema: CSchema, spec: MessageSpec, options: LuaOptions = {}): string {
  const protocol = options.protocol ?? 'sipc';
  if (!/^[a-z][a-z0-9_]*$/.test(protocol)) throw new SchemaError('BAD_MAPPING', 'the protocol name must be lower-case letters, digits and _');
  const ctx: Context = { schema, protocol, fieldDecls: [], functions: new Map(), functionBodies: [], valueStrings: new Map(), usedFieldNames: new Set() };
  const main: string[] = [];
  if ('type' in spec) {
    const type = resolveRecord(schema, spec.type);
    const fn = recordFunction(ctx, type);
    main.push(`  ${fn}(tvb, subtree, 0)`);
    main.push(`  check_length(tvb, subtree, ${type.size}, ${luaString(type.name)})`);
  } else {
    const tagType = schema.lookup(spec.tag.type);
    if (!tagType || (tagType.kind !== 'int' && tagType.kind !== 'enum')) throw new SchemaError('BAD_MAPPING', `the tag type ${spec.tag.type} is not an integer type`);
    const tagInt = tagType.kind === 'enum' ? tagType.base : tagType;
    const tagEndian = spec.tag.endian ?? schema.endian;
    const read = `tvb(${spec.tag.offset}, ${tagInt.size}):${tagEndian === 'little' ? 'le_' : ''}${tagInt.size > 4 ? (tagInt.signed ? 'int64' : 'uint64') : (tagInt.signed ? 'int' : 'uint')}()`;
    main.push(`  if not have(tvb, ${spec.tag.offset}, ${tagInt.size}) then`);
    main.push(`    subtree:add_proto_expert_info(ef_short, "too short for the tag (" .. tvb:len() .. " bytes)")`);
    main.push('    return');
    main.push('  end');
    main.push(`  local tag = ${read}`);
    main.push(`  if type(tag) ~= "number" then tag = tag:tonumber() end`);
    let first = true;
    const cases = Object.entries(spec.cases).map(([key, typeName]) => {
      const value = /^-?(0[xX][0-9a-fA-F]+|\d+)$/.test(key.trim()) ? BigInt(key.trim()) : schema.constants.get(key.trim());
      if (value === undefined) throw new SchemaError('BAD_MAPPING', `case "${key}" is neither a number nor a constant of the schema`);
      return [value, resolveRecord(schema, typeName)] as const;
    });
    for (const [value, type] of cases) {
      const fn = recordFunction(ctx, type);
      main.push(`  ${first ? 'if' : 'elseif'} tag == ${value} then`);
      main.push(`    subtree:append_text(${luaString(`: ${type.name}`)})`);
      main.push(`    ${fn}(tvb, subtree, 0)`);
      main.push(`    check_length(tvb, subtree, ${type.size}, ${luaString(type.name)})`);
      first = false;
    }
    const fallback = spec.default !== undefined ? resolveRecord(schema, spec.default) : undefined;
    main.push('  else');
    if (fallback) {
      const fn = recordFunction(ctx, fallback);
      main.push(`    ${fn}(tvb, subtree, 0)`);
      main.push(`    check_length(tvb, subtree, ${fallback.size}, ${luaString(fallback.name)})`);
    } else {
      main.push(`    subtree:add_proto_expert_info(ef_tag, "unknown tag " .. tag)`);
    }
    main.push('  end');
  }
  return `-- Wireshark dissector for sipc messages, generated by the sipc extension (Export Dissector…).
-- ${options.origin ?? 'From a C-struct schema.'}
-- Install: copy this file into Wireshark's personal Lua plugins folder (Help → About Wireshark → Folders →
-- Personal Lua Plugins), or run: tshark -X lua_script:THIS_FILE -r capture.pcapng
-- It decodes packets of link type USER0 (147), which the sipc inspector's pcapng export writes.

local proto = Proto(${luaString(protocol)}, ${luaString(`sipc messages (${protocol})`)})
local fields = {}
local ef_short = ProtoExpert.new(${luaString(`${protocol}.too_short`)}, "message too short for its type", expert.group.MALFORMED, expert.severity.ERROR)
local ef_tag = ProtoExpert.new(${luaString(`${protocol}.unknown_tag`)}, "unknown message tag", expert.group.MALFORMED, expert.severity.ERROR)
local ef_trailing = ProtoExpert.new(${luaString(`${protocol}.trailing`)}, "bytes after the message's type", expert.group.PROTOCOL, expert.severity.WARN)
${ctx.fieldDecls.join('\n')}
proto.fields = fields
proto.experts = { ef_short, ef_tag, ef_trailing }

local function have(tvb, offset, size)
  return offset + size <= tvb:len()
end

local function missing(tree, name)
  tree:add_proto_expert_info(ef_short, name .. ": missing (the message is too short)")
end

local function check_length(tvb, tree, size, name)
  if tvb:len() < size then
    tree:add_proto_expert_info(ef_short, "the message has " .. tvb:len() .. " bytes; " .. name .. " needs " .. size)
  elseif tvb:len() > size then
    tree:add_proto_expert_info(ef_trailing, (tvb:len() - size) .. " bytes after " .. name)
  end
end

-- A char array as the inspector shows it: up to the first NUL, other bytes escaped as \\xNN.
local function cstring(range)
  local out = {}
  for i = 0, range:len() - 1 do
    local b = range(i, 1):uint()
    if b == 0 then break end
    if b == 92 then table.insert(out, "\\\\\\\\")
    elseif b == 34 then table.insert(out, "\\\\\\"")
    elseif b >= 32 and b < 127 then table.insert(out, string.char(b))
    elseif b == 10 then table.insert(out, "\\\\n")
    elseif b == 9 then table.insert(out, "\\\\t")
    else table.insert(out, string.format("\\\\x%02x", b)) end
  end
  return table.concat(out)
end

-- A bit-field: width bits from bit \`first\` of the little-endian bytes of \`range\`, sign-extended if signed.
local function bits(range, first, width, signed)
  local v = UInt64(0)
  for i = range:len() - 1, 0, -1 do
    v = v:lshift(8):bor(UInt64(range(i, 1):uint()))
  end
  v = v:rshift(first):band(UInt64(0xFFFFFFFF, 0xFFFFFFFF):rshift(64 - width))
  if signed and v:rshift(width - 1):band(UInt64(1)) == UInt64(1) then
    return Int64(0) - Int64(UInt64(1):lshift(width) - v)
  end
  return signed and Int64(v) or v
end

${ctx.functionBodies.join('\n\n')}

function proto.dissector(tvb, pinfo, tree)
  pinfo.cols.protocol = ${luaString(protocol.toUpperCase())}
  local subtree = tree:add(proto, tvb())
${main.join('\n')}
end

DissectorTable.get("wtap_encap"):add(wtap.USER0, proto)
`;
}
