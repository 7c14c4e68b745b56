package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/node"
)

// addVIPClusterNode is a node of a Raft cluster (cluster.listen on its LAN
// address) that is also in the LAN's virtual router for testVIP. The
// first node creates the realm; the others join it through its cluster
// address, from their own namespace.
func (l *haLAN) addVIPClusterNode(name, addr string, priority int, first *haNode) *haNode {
	l.t.Helper()
	ns := l.attach("kdchaN", addr)
	dir := filepath.Join(l.dir, name)
	os.MkdirAll(dir, 0o700)
	n := &haNode{name: name, ns: ns, addr: addr, cfgPath: filepath.Join(dir, "kdcha.yaml")}
	cfg := fmt.Sprintf(`realm: HA.TEST
node:
  name: %[1]s
  data_dir: %[2]s/data
  admin_socket: %[2]s/admin.sock
kdc:
  listen: ["0.0.0.0:88"]
metrics:
  listen: ""
cluster:
  listen: %[3]s:7946
vrrp:
  instances:
    - name: VI_KDC
      interface: eth0
      vrid: 51
      priority: %[4]d
      version: 3
      advert_interval: 100ms
      virtual_ipaddresses: [%[5]s/24]
`, name, dir, addr, priority, testVIP)
	if err := os.WriteFile(n.cfgPath, []byte(cfg), 0o600); err != nil {
		l.t.Fatal(err)
	}
	// Both bind the cluster address: they run in the node's namespace.
	args := []string{"netns", "exec", ns, kdchaBin, "cluster", "init", "--config", n.cfgPath}
	if first != nil {
		token, err := exec.Command(kdchaBin, "cluster", "token", "--config", first.cfgPath).CombinedOutput()
		if err != nil {
			l.t.Fatalf("cluster token: %v\n%s", err, token)
		}
		args = []string{"netns", "exec", ns, kdchaBin, "cluster", "join", first.addr + ":7946", "--token", strings.TrimSpace(string(token)), "--config", n.cfgPath}
	}
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %v: %v\n%s", args, err, out)
	}
	l.nodes[name] = n
	return n
}

// admin runs a kdcha admin command against the node's socket.
func (n *haNode) admin(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(kdchaBin, args...)
	cmd.Env = append(os.Environ(), "KDCHA_ADMIN_SOCKET="+filepath.Join(filepath.Dir(n.cfgPath), "admin.sock"))
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kdcha %v on %s: %v\n%s", args, n.name, err, out)
	}
	return string(out)
}

// clientRun runs a Kerberos client in the client namespace against kdc
// (its kpasswd on port 464), with env added.
func (l *haLAN) clientRun(kdc, stdin string, env []string, argv ...string) (string, error) {
	conf := filepath.Join(l.dir, "krb5-"+kdc+".conf")
	if err := os.WriteFile(conf, []byte(node.DevKrb5Conf("HA.TEST", kdc+":88", kdc+":464")), 0o644); err != nil {
		return "", err
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.client}, argv...)...)
	cmd.Env = append(append(os.Environ(), "KRB5_CONFIG="+conf, "KRB5CCNAME=FILE:"+filepath.Join(l.dir, "ccache-"+kdc)), env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestClusterKpasswdThroughVIP: MIT kpasswd (and Heimdal's, when
// KDCHA_HEIMDAL_ROOT is set) change a password through the VIP of a
// 3-node cluster; at once the new password works against every node's own
// address and the old one fails everywhere; a policy violation comes back
// as a soft error naming the rule.
func TestClusterKpasswdThroughVIP(t *testing.T) {
	requireMITKpasswd(t)
	l := newHALAN(t)
	n1 := l.addVIPClusterNode("n1", "192.0.2.1", 150, nil)
	n1.start(t)
	n2 := l.addVIPClusterNode("n2", "192.0.2.2", 100, n1)
	n3 := l.addVIPClusterNode("n3", "192.0.2.3", 50, n1)
	n2.start(t)
	n3.start(t)
	nodes := []*haNode{n1, n2, n3}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st admin.ClusterStatus
		json.Unmarshal([]byte(n1.admin(t, "", "cluster", "status", "--json")), &st)
		ok := len(st.Members) == 3
		for _, m := range st.Members {
			ok = ok && m.Voter && m.Error == "" && m.Lag == 0
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster did not settle: %+v", st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	l.holder(5*time.Second, n1)

	pw := "Vip-Cluster-Pass-0"
	n2.admin(t, pw+"\n", "principal", "add", "vipuser", "--password-file", "-")
	kinitEverywhere := func(good, bad string) {
		t.Helper()
		for _, n := range nodes {
			// A fresh read makes n's replica catch up, as any read after
			// the acknowledged write would.
			n.admin(t, "", "principal", "get", "vipuser")
			if out, err := l.clientRun(n.addr, good+"\n", nil, "kinit", "vipuser@HA.TEST"); err != nil {
				t.Fatalf("new password against %s: %v\n%s", n.name, err, out)
			}
			if out, err := l.clientRun(n.addr, bad+"\n", nil, "kinit", "vipuser@HA.TEST"); err == nil {
				t.Fatalf("old password still works against %s:\n%s", n.name, out)
			}
		}
	}

	out, err := l.clientRun(testVIP, pw+"\nshort\nshort\n", nil, "kpasswd", "vipuser@HA.TEST")
	if err == nil || !strings.Contains(out, "Password change rejected: Password refused by policy default: minlength") {
		t.Fatalf("weak password through the VIP: err %v\n%s", err, out)
	}
	newPW := "Vip-Cluster-Pass-1"
	if out, err := l.clientRun(testVIP, pw+"\n"+newPW+"\n"+newPW+"\n", nil, "kpasswd", "vipuser@HA.TEST"); err != nil || !strings.Contains(out, "Password changed") {
		t.Fatalf("MIT kpasswd through the VIP: %v\n%s", err, out)
	}
	kinitEverywhere(newPW, pw)

	root := os.Getenv("KDCHA_HEIMDAL_ROOT")
	if root == "" {
		t.Log("Heimdal part skipped: KDCHA_HEIMDAL_ROOT not set")
		return
	}
	heimdal := []string{"LD_LIBRARY_PATH=" + filepath.Join(root, "usr/lib/x86_64-linux-gnu")}
	final := "Vip-Cluster-Pass-2"
	if out, err := l.clientRun(testVIP, newPW+"\n"+final+"\n"+final+"\n", heimdal, filepath.Join(root, "usr/bin/kpasswd.heimdal"), "vipuser@HA.TEST"); err != nil || !strings.Contains(out, "Password changed") {
		t.Fatalf("Heimdal kpasswd through the VIP: %v\n%s", err, out)
	}
	kinitEverywhere(final, newPW)
}
