package k8s

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/goshop/platform/devstack/stack"
	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// dockerImage reads the Dockerfile: the image name of a program ("goshop/<program>", from the build
// command its header shows), the user the final stage runs as, and its entrypoint.
type dockerImage struct {
	repo       string // "goshop": images are repo + "/" + program
	user       string // "nonroot:nonroot"
	entrypoint string // `["/app"]`
}

// distrolessUIDs are the numeric IDs of distroless's named users, which Kubernetes needs to check
// runAsNonRoot (it cannot resolve a name).
var distrolessUIDs = map[string]int64{"nonroot": 65532}

func readDockerfile(tb testing.TB) dockerImage {
	tb.Helper()
	src, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		tb.Fatal(err)
	}
	var d dockerImage
	if m := regexp.MustCompile(`--build-arg PROGRAM=(\w+) -t (\S+)/(\w+) `).FindStringSubmatch(string(src)); m != nil && m[1] == m[3] {
		d.repo = m[2]
	}
	for _, line := range strings.Split(string(src), "\n") {
		if v, ok := strings.CutPrefix(line, "USER "); ok {
			d.user = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "ENTRYPOINT "); ok {
			d.entrypoint = strings.TrimSpace(v)
		}
	}
	if d.repo == "" || d.user == "" || d.entrypoint != `["/app"]` {
		tb.Fatalf("Dockerfile: image %q, user %q, entrypoint %q: the header's build command, USER or ENTRYPOINT changed; update this test", d.repo, d.user, d.entrypoint)
	}
	return d
}

// TestImagesAndPorts: each program runs the Dockerfile's image for it, as its user, with its
// entrypoint, and listens where the Service and the other programs expect it: HTTP_ADDR ":<port>"
// with the architecture's port, declared as the container port "http" that the Service targets.
func TestImagesAndPorts(t *testing.T) {
	img := readDockerfile(t)
	user, _, _ := strings.Cut(img.user, ":")
	uid, known := distrolessUIDs[user]
	if !known {
		t.Fatalf("Dockerfile USER %s: no known numeric ID", img.user)
	}
	tables := configTables(t)
	for _, o := range overlays {
		m := render(t, o)
		for _, p := range stack.Programs {
			c := programContainer(t, m, p.Name)
			spec := &m.deployment(p.Name).Spec.Template.Spec
			repo, _, _ := strings.Cut(c.Image, ":")
			if want := img.repo + "/" + p.Name; repo != want {
				t.Errorf("overlay %s: %s image = %q, want %s[:tag]", o, p.Name, c.Image, want)
			}
			if len(c.Command) > 0 || len(c.Args) > 0 {
				t.Errorf("overlay %s: %s overrides the image's entrypoint: command %v args %v", o, p.Name, c.Command, c.Args)
			}
			if sc := spec.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != uid {
				t.Errorf("overlay %s: %s pod runAsUser is not %d, the Dockerfile's USER %s", o, p.Name, uid, img.user)
			}
			env, _ := containerEnv(m, c)
			if got, want := env["HTTP_ADDR"].value, ":"+strconv.Itoa(p.Port); got != want {
				t.Errorf("overlay %s: %s HTTP_ADDR = %q, want %q", o, p.Name, got, want)
			}
			if _, reads := tables[p.Name]["REDIS_DB"]; reads && p.Redis >= 0 {
				if got := env["REDIS_DB"].value; got != strconv.Itoa(p.Redis) {
					t.Errorf("overlay %s: %s REDIS_DB = %q, want %d (ARCHITECTURE.md)", o, p.Name, got, p.Redis)
				}
			}
			if port, ok := containerPort(c, intstr.FromString("http")); !ok || port.ContainerPort != int32(p.Port) {
				t.Errorf("overlay %s: %s has no container port \"http\" %d", o, p.Name, p.Port)
			}
			svc := m.service(p.Name)
			if svc == nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != int32(p.Port) {
				t.Errorf("overlay %s: Service %s does not expose port %d alone (http://%s:%d is what the others call)", o, p.Name, p.Port, p.Name, p.Port)
			}
		}
	}
}

// TestProbesAreRoutes: readiness is /readyz and liveness /healthz, and both are routes the program's
// routes.go registers, on its http port.
func TestProbesAreRoutes(t *testing.T) {
	want := map[string]string{"readiness": "/readyz", "liveness": "/healthz"}
	for _, o := range overlays {
		m := render(t, o)
		for _, p := range stack.Programs {
			c := programContainer(t, m, p.Name)
			routes := sharedtest.AllRoutePatterns(t, filepath.Join(root, p.Name, "routes.go"))
			for kind, probe := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
				if probe == nil || probe.HTTPGet == nil {
					t.Errorf("overlay %s: %s has no HTTP %s probe", o, p.Name, kind)
					continue
				}
				path, _, _ := strings.Cut(probe.HTTPGet.Path, "?") // the route; TestReadinessProbeIsPodScoped checks the query
				if path != want[kind] {
					t.Errorf("overlay %s: %s %s probe path %q, want %s", o, p.Name, kind, path, want[kind])
				}
				if !slices.Contains(routes, "GET "+path) {
					t.Errorf("overlay %s: %s %s probe GET %s is not a route of %s/routes.go", o, p.Name, kind, path, p.Name)
				}
				if port, ok := containerPort(c, probe.HTTPGet.Port); !ok || port.ContainerPort != int32(p.Port) {
					t.Errorf("overlay %s: %s %s probe port %s is not the program's port %d", o, p.Name, kind, probe.HTTPGet.Port.String(), p.Port)
				}
			}
		}
	}
}

// TestReadinessProbeIsPodScoped: every program's readiness probe asks /readyz?scope=pod
// (shared.ReadyzPodPath), which fails only for the pod's own state (a start-up step not done,
// shutdown begun), never plain /readyz, whose pings of Mongo, Kafka, Redis and the gateway fail on
// every copy at once when that shared dependency is down: the kubelet would take all of them out of
// the Service, and order, which takes checkouts into its outbox without Kafka, would take none.
func TestReadinessProbeIsPodScoped(t *testing.T) {
	for _, o := range overlays {
		m := render(t, o)
		for _, p := range stack.Programs {
			probe := programContainer(t, m, p.Name).ReadinessProbe
			if probe == nil || probe.HTTPGet == nil {
				continue // TestProbesAreRoutes reports it
			}
			if probe.HTTPGet.Path != shared.ReadyzPodPath {
				t.Errorf("overlay %s: %s readiness probe path %q, want %s", o, p.Name, probe.HTTPGet.Path, shared.ReadyzPodPath)
			}
		}
	}
}

// TestServicesSelectPods: every Service selects the pods of some Deployment or StatefulSet, and each
// of its ports targets a port those pods declare.
func TestServicesSelectPods(t *testing.T) {
	for _, o := range overlays {
		m := render(t, o)
		for _, svc := range m.services {
			if len(svc.Spec.Selector) == 0 {
				t.Errorf("overlay %s: Service %s has no selector", o, svc.Name)
				continue
			}
			sel := labels.SelectorFromSet(svc.Spec.Selector)
			var pods []workload
			for _, w := range m.workloads() {
				if sel.Matches(labels.Set(w.labels)) {
					pods = append(pods, w)
				}
			}
			if len(pods) == 0 {
				t.Errorf("overlay %s: Service %s selects %v, which no pod template carries", o, svc.Name, svc.Spec.Selector)
			}
			for _, sp := range svc.Spec.Ports {
				target := sp.TargetPort
				if target.Type == intstr.Int && target.IntVal == 0 {
					target = intstr.FromInt32(sp.Port)
				}
				for _, w := range pods {
					found := false
					for i := range w.spec.Containers {
						if _, ok := containerPort(&w.spec.Containers[i], target); ok {
							found = true
						}
					}
					if !found {
						t.Errorf("overlay %s: Service %s port %d targets %s, which %s %s does not declare", o, svc.Name, sp.Port, target.String(), w.kind, w.name)
					}
				}
			}
		}
	}
}

// containerPort finds the declared port a name or number refers to.
func containerPort(c *corev1.Container, ref intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, p := range c.Ports {
		if (ref.Type == intstr.String && p.Name == ref.StrVal) || (ref.Type == intstr.Int && p.ContainerPort == ref.IntVal) {
			return p, true
		}
	}
	return corev1.ContainerPort{}, false
}

func (m *manifests) service(name string) *corev1.Service { return named(m.services, name) }

// TestAuthKeysShared: auth reads its signing keys from AUTH_SIGNING_KEYS_DIR, a mounted volume; where
// auth runs in more than one copy that volume is a Secret, so every copy signs with and publishes the
// same keys (docs/auth.md: keys in memory or per pod would make one copy's tokens unknown to the JWKS
// another copy serves).
func TestAuthKeysShared(t *testing.T) {
	for _, o := range overlays {
		m := render(t, o)
		c := programContainer(t, m, "auth")
		env, _ := containerEnv(m, c)
		dir := env["AUTH_SIGNING_KEYS_DIR"].value
		i := slices.IndexFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.MountPath == dir })
		if dir == "" || i < 0 {
			t.Errorf("overlay %s: AUTH_SIGNING_KEYS_DIR %q is not a volume mounted in auth", o, dir)
			continue
		}
		spec := &m.deployment("auth").Spec.Template.Spec
		v := spec.Volumes[slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == c.VolumeMounts[i].Name })]
		several := m.hpa("auth") != nil || m.deployment("auth").Spec.Replicas == nil || *m.deployment("auth").Spec.Replicas > 1
		if several && v.Secret == nil {
			t.Errorf("overlay %s: auth runs in several copies with its keys in volume %s, which is not a Secret", o, v.Name)
		}
	}
}
