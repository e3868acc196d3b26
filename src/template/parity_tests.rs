//! The template files of the reference branch's `template_module` parity case, rendered
//! with the same variables; the expected SHA-256 of each output is the one ansible-core 2.19
//! wrote (tests/parity/cases/template_module/expected.tree).

use std::sync::Arc;

use serde_json::json;
use sha2::Digest;

use super::*;
use crate::vars::{Layer, VarMap, VarScope};

const FILES: &[(&str, &str, &str)] = &[
    (
        "delims.j2",
        r########"#jinja2:variable_start_string:'[%', variable_end_string:'%]'
value [% packages | join(' ') %] and literal {{ braces }}
"########,
        "7dd34d450f693ae92ae4846a3748df94c5697b2b3403ffd16f54a579e7389246",
    ),
    (
        "filters.txt.j2",
        r########"default: {{ missing | default('fallback') }} / {{ empty_string | default('falsy kept') }} / {{ empty_string | default('falsy replaced', true) }} / {{ missing | d('d alias') }}
bool: {{ 'yes' | bool }} {{ 'on' | bool }} {{ '1' | bool }} {{ 'TRUE' | bool }} {{ 'no' | bool }} {{ 0 | bool }}
join: {{ packages | join(', ') }}
length: {{ packages | length }} {{ settings | length }}
int: {{ '42' | int + 1 }} {{ 'x' | int }} {{ 3.9 | int }}
list/first/last: {{ 'abc' | list | first }}{{ packages | last }}
lower/upper/capitalize: {{ 'MiXed' | lower }} {{ 'MiXed' | upper }} {{ 'hello world' | capitalize }}
replace: {{ 'a-b-c' | replace('-', '+') }}
regex_replace: {{ 'host-01.example.com' | regex_replace('^([a-z]+)-(\\d+)\\..*$', '\\2:\\1') }}
regex_search: {{ 'version 1.2.3 beta' | regex_search('\\d+\\.\\d+\\.\\d+') }}
ternary: {{ (packages | length > 1) | ternary('many', 'few') }}
map/select: {{ users | map(attribute='name') | join(',') }} {{ users | selectattr('admin') | map(attribute='name') | list }}
sort/unique/flatten: {{ [3, 1, 2, 3] | unique | sort }} {{ [[1, [2]], 3] | flatten }} {{ [[1, [2]], 3] | flatten(levels=1) }}
combine: {{ base | combine(override) }} {{ base | combine(override, recursive=true) }}
dict2items: {{ {'b': 2, 'a': 1} | dict2items }}
items2dict: {{ [{'key': 'k', 'value': 'v'}] | items2dict }}
string/trim: [{{ '  padded  ' | trim }}] {{ 42 | string }}
indent: {{ "a\nb" | indent(4) }}
from_json: {{ ('{"x": [1, 2]}' | from_json).x[1] }}
from_yaml: {{ ('k: [a, b]' | from_yaml).k | join('+') }}
to_json: {{ {'a': 1, 'b': [true, none]} | to_json }}
basename/dirname: {{ '/etc/nginx/nginx.conf' | basename }} {{ '/etc/nginx/nginx.conf' | dirname }}
b64: {{ 'hello' | b64encode }} {{ 'aGVsbG8=' | b64decode }}
urlsplit: {{ 'https://user@example.com:8443/path?q=1' | urlsplit('hostname') }} {{ 'https://example.com:8443/p' | urlsplit('port') }}
split method: {{ 'a,b,c'.split(',') | last }} {{ 'k=v'.split('=')[0] }}
methods: {{ 'Hello'.startswith('He') }} {{ 'x.conf'.endswith('.conf') }} {{ '  s '.strip() }} {{ 'abc'.upper() }} {{ base.get('port', 1) }} {{ base.get('nope', 'dflt') }} {{ base.keys() | list | sort }}
tests: {{ packages is defined }} {{ missing is undefined }} {{ 'x' is string }} {{ base is mapping }} {{ packages is iterable }} {{ 5 is number }} {{ none is none }} {{ '2.10' is version('2.9', '>') }} {{ 'abc' is match('a') }} {{ 'abc' is search('c') }}
in: {{ 'nginx' in packages }} {{ 'port' in base }}
inline if: {{ 'on' if enable_extra else 'off' }}
math: {{ 7 // 2 }} {{ 7 % 3 }} {{ 2 ** 3 }} {{ 10 / 4 }}
concat: {{ 'a' ~ 1 ~ true }}
set: {% set acc = [] %}{% for p in packages %}{% set _ = acc.append(p | upper) %}{% endfor %}{{ acc | join('/') }}
namespace: {% set ns = namespace(total=0) %}{% for n in [1, 2, 3] %}{% set ns.total = ns.total + n %}{% endfor %}{{ ns.total }}
macro: {% macro kv(k, v='-') %}{{ k }}={{ v }}{% endmacro %}{{ kv('a', 1) }} {{ kv('b') }}
loop vars: {% for p in packages %}{{ loop.index }}{{ '' if loop.last else ',' }}{% endfor %}
raw: {% raw %}{{ not rendered }}{% endraw %}
"########,
        "620f8cc3eda0dd996b644d443054209a7607460efdac300b3dd1cfa186f373b2",
    ),
    (
        "header.j2",
        r########"#jinja2: trim_blocks: False, lstrip_blocks: True
{% for p in packages %}
    {% if p %}
item [{{ p }}]
    {% endif %}
{% endfor %}
"########,
        "4665e1eea7a69b74cdfe8b01a210cdd7fb4a9e92eb80189eb761d2fbf2f4d9ec",
    ),
    (
        "managed.conf.j2",
        r########"{{ ansible_managed | comment }}
{{ ansible_managed | comment('c') }}
{{ "multi\nline" | comment(decoration='; ') }}
[main]
{% for key, value in settings | dictsort %}
{{ key }} = {{ value }}
{% endfor %}
{% if enable_extra | bool %}
extra = on
{% endif %}
{#- a comment that eats the newline before it #}
end
"########,
        "b29a005df6704f0f1b1692e47dc831ef9c1693d7db8c18e70c6b532a4b555769",
    ),
    (
        "sub/nice.j2",
        r########"{{ data | to_nice_json }}
---
{{ data | to_nice_yaml }}
---
{{ data | to_yaml }}
---
{{ data | to_nice_json(indent=2) }}
"########,
        "95b042bfdb8d437f5ded92fb06e7a9f9d6ecd55322e688239afd79c5477d9ad8",
    ),
    (
        "whitespace.j2",
        r########"{% if true %}
trim_blocks removes the newline after a block tag
{% endif %}
    {% if true %}
lstrip_blocks is off, so the indentation before a tag stays
    {% endif %}
{%- if true %}
minus strips before
{% endif -%}
after minus
no trailing newline at the end of this template
"########,
        "afd27a2e3c93262f847d93e9dffb5ff472a193a979239fc3d577e555306ebe53",
    ),
    (
        "no-newline.j2",
        r########"keep_trailing_newline is on"########,
        "7edf738e25f5748e25cc40d70fe823f0ba76f8e0cb7be7abc276460a93194149",
    ),
    (
        "two-newlines.j2",
        r########"two newlines at the end

"########,
        "2e91f9f024d13e272c830aaf9bb169088ac49bfbe81c7575f24d8a6e563bf754",
    ),
];

#[test]
fn template_files_render_byte_identical_to_ansible() {
    let vars = json!({
        "settings": {"port": 8080, "name": "demo", "debug": false},
        "enable_extra": "yes",
        "empty_string": "",
        "packages": ["nginx", "certbot", "git"],
        "users": [{"name": "alice", "admin": true}, {"name": "bob", "admin": false}],
        "base": {"port": 80, "tls": {"enabled": false, "cert": "a.pem"}},
        "override": {"tls": {"enabled": true}, "host": "example.com"},
        "data": {
            "name": "demo",
            "list": [1, "two", {"three": 3}],
            "nested": {"z": "last", "a": "first", "flag": true, "none_value": null},
            "text": "multi\nline",
            "unicode": "héllo ✓"
        },
        "ansible_managed": "Ansible managed",
    });
    let mut scope = VarScope::new();
    let map: VarMap = vars.as_object().unwrap().clone().into_iter().collect();
    scope.push(Layer::PlayVars, Arc::new(map));
    let dir = tempfile::tempdir().unwrap();
    let t = Templar::new();
    let mut wrong = Vec::new();
    for (name, text, sha) in FILES {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        let out = t
            .render_file(&path, &scope)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = hex::encode(sha2::Sha256::digest(out.as_bytes()));
        if got != *sha {
            wrong.push(format!("{name}:\n{out}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "differ from Ansible:\n{}",
        wrong.join("\n")
    );
}
