//! The file modules on a real host next to ansible-core: the same playbook converges one
//! test-bed host with jig and its twin with ansible-playbook; check mode predicts the real
//! run, the second run changes nothing, and both hosts end up with the same files.

#[path = "support/testbed.rs"]
mod testbed;

#[path = "support/converge.rs"]
mod converge;

const PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  vars:
    odd_name: "/srv/app/it's a \"name\" $(touch PWNED) `touch PWNED2` é"
  tasks:
    - name: a directory tree
      file:
        path: /srv/app/conf.d
        state: directory
        mode: "0750"
    - name: a file with an awkward name
      copy:
        dest: "{{ odd_name }}"
        content: "line one\nline $(two)\n"
        mode: "0640"
    - name: a template
      template:
        src: app.conf.j2
        dest: /srv/app/conf.d/app.conf
        owner: nobody
        mode: "0600"
    - name: a line in a file of its own (in check mode the template's file does not exist yet)
      lineinfile:
        path: /srv/app/env
        create: true
        regexp: '^port='
        line: port=8081
    - name: a block
      blockinfile:
        path: /srv/app/notes
        create: true
        block: |
          first
          second
    - name: a link
      file:
        src: /etc/hostname
        dest: /srv/app/current
        state: link
"#;

const TEMPLATE: &str = "# {{ ansible_managed }}\nname={{ inventory_hostname | length }}\nport=80\n{% for i in range(3) %}slot{{ i }}\n{% endfor %}";

#[test]
fn file_modules_converge_like_ansible() {
    let Some(pair) = converge::Pair::up() else {
        return;
    };
    pair.write("play.yml", PLAYBOOK);
    pair.write("templates/app.conf.j2", TEMPLATE);
    let r = pair.converge("play.yml", &[]);
    r.assert_counts(6).assert_same_diffs(&[]);
    // Every change showed its diff, and check mode showed the same ones.
    assert_eq!(converge::diffs(&r.check).len(), 6, "{}", r.check.stdout);
    pair.assert_same(
        "cd /srv/app && find . -printf '%p %y %m %u %g %l\\n' | sort && \
         find . -type f -print0 | sort -z | xargs -0 sha256sum",
    );
    pair.assert_same(
        "cd / && test -z \"$(find / -xdev -name 'PWNED*' 2>/dev/null)\" && echo clean",
    );
}
