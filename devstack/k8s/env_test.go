package k8s

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/goshop/platform/devstack/stack"
	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// goRuntimeEnv are variables the Go runtime reads in every program (docs/config.md).
var goRuntimeEnv = map[string]bool{"GOMEMLIMIT": true, "GOGC": true, "GOMAXPROCS": true, "GODEBUG": true}

// setElsewhere are variables a program reads that the manifests need not set, and why.
var setElsewhere = map[string]string{
	"HOSTNAME": "the kubelet sets it to the pod's name",
}

// coveredBy maps a variable to the one that makes it unused when set (docs/config.md: "when
// `REDIS_URL` is unset").
var coveredBy = map[string]string{
	"REDIS_HOST":     "REDIS_URL",
	"REDIS_PORT":     "REDIS_URL",
	"REDIS_PASSWORD": "REDIS_URL",
}

// wiredAhead are variables the manifests set before a program reads them: shared.Env.Mail's, which
// auth and user are about to read. Once docs/config.md lists one for a program, the ordinary rule
// (read and set) holds it there.
var wiredAhead = map[string]bool{"SMTP_ADDR": true, "SMTP_USERNAME": true, "SMTP_PASSWORD": true, "MAIL_FROM": true,
	"SHOP_NAME": true, "SHOP_ADDRESS": true}

// configTables reads each program's table of docs/config.md, which its TestConfigDoc holds equal to
// what its loadConfig reads.
func configTables(tb testing.TB) map[string]map[string]shared.EnvVar {
	tb.Helper()
	doc, err := os.ReadFile(filepath.Join(root, "docs", "config.md"))
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]map[string]shared.EnvVar{}
	for _, p := range stack.Programs {
		rows, found := sharedtest.ConfigDocTable(string(doc), p.Name)
		if !found {
			tb.Fatalf("docs/config.md has no table for %s", p.Name)
		}
		out[p.Name] = rows
	}
	return out
}

// envSource is where a container's variable comes from.
type envSource struct {
	value  string // the literal value, or the ConfigMap's value; "" for a secret or a field
	from   string // "env", "configmap <name>", "secret <name>", "field"
	shared bool   // from a ConfigMap several programs load: only some of them need read each key
}

// containerEnv resolves every variable container sets, through the ConfigMaps and Secrets the render
// holds. A reference to a Secret the render does not hold is kept as "secret <name>" (prod's are made
// by the operator; TestProdSecretKeys checks their keys). Unresolvable references are returned as
// problems.
func containerEnv(m *manifests, c *corev1.Container) (map[string]envSource, []string) {
	env := map[string]envSource{}
	var problems []string
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			cm := m.configMap(ef.ConfigMapRef.Name)
			if cm == nil {
				problems = append(problems, "envFrom names ConfigMap "+ef.ConfigMapRef.Name+", which the overlay does not make")
				continue
			}
			sharedMap := m.loadedBy(cm.Name) > 1
			for k, v := range cm.Data {
				env[ef.Prefix+k] = envSource{value: v, from: "configmap " + cm.Name, shared: sharedMap}
			}
		default:
			problems = append(problems, "envFrom other than a ConfigMap: name secret keys one by one, so they can be checked")
		}
	}
	for _, e := range c.Env {
		src := envSource{value: e.Value, from: "env"}
		if vf := e.ValueFrom; vf != nil {
			switch {
			case vf.SecretKeyRef != nil:
				src = envSource{from: "secret " + vf.SecretKeyRef.Name}
				if s := m.secret(vf.SecretKeyRef.Name); s != nil {
					if _, ok := s.Data[vf.SecretKeyRef.Key]; !ok {
						problems = append(problems, e.Name+": Secret "+s.Name+" has no key "+vf.SecretKeyRef.Key)
					}
				}
			case vf.ConfigMapKeyRef != nil:
				cm := m.configMap(vf.ConfigMapKeyRef.Name)
				if cm == nil {
					problems = append(problems, e.Name+": no ConfigMap "+vf.ConfigMapKeyRef.Name)
					continue
				}
				src = envSource{value: cm.Data[vf.ConfigMapKeyRef.Key], from: "configmap " + cm.Name}
			default:
				src = envSource{from: "field"}
			}
		}
		env[e.Name] = src
	}
	return env, problems
}

func (m *manifests) configMap(name string) *corev1.ConfigMap { return named(m.configMaps, name) }

func (m *manifests) secret(name string) *corev1.Secret { return named(m.secrets, name) }

// loadedBy counts the containers that load the ConfigMap whole.
func (m *manifests) loadedBy(name string) int {
	n := 0
	for _, w := range m.workloads() {
		for _, c := range w.spec.Containers {
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil && ef.ConfigMapRef.Name == name {
					n++
				}
			}
		}
	}
	return n
}

// programContainer returns the program's Deployment's only container, failing tb otherwise.
func programContainer(tb testing.TB, m *manifests, program string) *corev1.Container {
	tb.Helper()
	d := m.deployment(program)
	if d == nil {
		tb.Fatalf("overlay %s: no Deployment %s", m.overlay, program)
	}
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		tb.Fatalf("overlay %s: Deployment %s has %d containers, want 1", m.overlay, program, n)
	}
	return &d.Spec.Template.Spec.Containers[0]
}

// TestEnvMatchesCode: in every overlay each program gets every variable it reads (the default of a
// variable such as HTTP_ADDR or KAFKA_BROKERS is right on a laptop and wrong in a pod), and nothing
// it does not read, except through a ConfigMap several programs share, each of whose keys some
// program must read.
func TestEnvMatchesCode(t *testing.T) {
	tables := configTables(t)
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) {
			m := render(t, o)
			sharedKeys := map[string]bool{} // key of a shared ConfigMap → read by some loader
			for _, p := range stack.Programs {
				env, problems := containerEnv(m, programContainer(t, m, p.Name))
				for _, pr := range problems {
					t.Errorf("%s %s: %s", o, p.Name, pr)
				}
				var missing []string
				for name := range tables[p.Name] {
					_, set := env[name]
					_, cover := env[coveredBy[name]]
					if !set && !cover && setElsewhere[name] == "" {
						missing = append(missing, name)
					}
				}
				slices.Sort(missing)
				for _, name := range missing {
					t.Errorf("overlay %s: %s reads %s, which its Deployment does not set", o, p.Name, name)
				}
				for name, src := range env {
					_, read := tables[p.Name][name]
					switch {
					case src.shared:
						sharedKeys[name] = sharedKeys[name] || read
					case !read && !goRuntimeEnv[name] && !wiredAhead[name]:
						t.Errorf("overlay %s: %s sets %s (%s), which %s does not read", o, p.Name, name, src.from, p.Name)
					}
				}
			}
			for name, read := range sharedKeys {
				if !read && !wiredAhead[name] {
					t.Errorf("overlay %s: a shared ConfigMap sets %s, which no program loading it reads", o, name)
				}
			}
		})
	}
}

// TestProdSecretKeys: the prod overlay names the keys of the Secret goshop-secrets the operator
// creates; secrets.env.example, the file the operator copies, lists exactly those.
func TestProdSecretKeys(t *testing.T) {
	m := render(t, "prod")
	used := map[string]bool{}
	for _, w := range m.workloads() {
		for _, c := range w.spec.Containers {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					if m.secret(e.ValueFrom.SecretKeyRef.Name) != nil {
						t.Errorf("prod: %s %s: Secret %s is in the overlay; prod keeps secrets out of git", w.kind, w.name, e.ValueFrom.SecretKeyRef.Name)
					}
					used[e.ValueFrom.SecretKeyRef.Name+"/"+e.ValueFrom.SecretKeyRef.Key] = true
				}
			}
		}
	}
	path := filepath.Join(root, "deploy", "k8s", "overlays", "prod", "secrets.env.example")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, _, _ := strings.Cut(line, "=")
		listed["goshop-secrets/"+key] = true
	}
	for k := range used {
		if !listed[k] {
			t.Errorf("prod uses secret key %s, which %s does not list", k, path)
		}
	}
	for k := range listed {
		if !used[k] {
			t.Errorf("%s lists %s, which no prod workload uses", path, k)
		}
	}
}

// TestProdBehindTLS: behind the prod Ingresses' TLS every cookie is Secure and the public URLs are
// https, so a session cookie never travels in clear and OAuth redirects stay on TLS.
func TestProdBehindTLS(t *testing.T) {
	m := render(t, "prod")
	want := map[string]map[string]string{
		"auth":       {"AUTH_COOKIE_SECURE": "true", "AUTH_ISSUER": "https://"},
		"storefront": {"STOREFRONT_COOKIE_SECURE": "true", "STOREFRONT_PUBLIC_URL": "https://", "AUTH_ISSUER": "https://"},
	}
	for program, vars := range want {
		env, _ := containerEnv(m, programContainer(t, m, program))
		for name, prefix := range vars {
			if got := env[name].value; !strings.HasPrefix(got, prefix) {
				t.Errorf("prod: %s %s = %q, want %s...", program, name, got, prefix)
			}
		}
	}
}
