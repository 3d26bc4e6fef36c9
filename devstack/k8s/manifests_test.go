// Package k8s checks the Kubernetes manifests in deploy/k8s without a cluster: every overlay is
// rendered with the kustomize library, as `kubectl apply -k` would, every object is decoded strictly
// into its k8s.io/api type, and the result is held to the code: the variables each program reads, its
// routes, its port, the Dockerfile's image and user, and the architecture's edges.
package k8s

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/goshop/platform/devstack/stack"
)

// root is the repository, seen from this package's folder.
var root = filepath.Join("..", "..")

// overlays are the directories under deploy/k8s/overlays an operator applies.
var overlays = []string{"dev", "prod"}

// manifests is one rendered overlay, every object decoded into its API type.
type manifests struct {
	overlay      string
	deployments  []appsv1.Deployment
	statefulSets []appsv1.StatefulSet
	services     []corev1.Service
	configMaps   []corev1.ConfigMap
	secrets      []corev1.Secret
	policies     []networkingv1.NetworkPolicy
	pdbs         []policyv1.PodDisruptionBudget
	hpas         []autoscalingv2.HorizontalPodAutoscaler
	ingresses    []networkingv1.Ingress
	namespaces   []corev1.Namespace
}

// workload is a pod template and the object that owns it.
type workload struct {
	kind, name string
	labels     map[string]string // the pod template's
	spec       *corev1.PodSpec
}

// workloads returns the pod templates of every Deployment and StatefulSet.
func (m *manifests) workloads() []workload {
	var out []workload
	for i := range m.deployments {
		d := &m.deployments[i]
		out = append(out, workload{"Deployment", d.Name, d.Spec.Template.Labels, &d.Spec.Template.Spec})
	}
	for i := range m.statefulSets {
		s := &m.statefulSets[i]
		out = append(out, workload{"StatefulSet", s.Name, s.Spec.Template.Labels, &s.Spec.Template.Spec})
	}
	return out
}

// deployment returns the Deployment named name, or nil.
func (m *manifests) deployment(name string) *appsv1.Deployment { return named(m.deployments, name) }

// named returns the object of list called name, or nil.
func named[T any, P interface {
	*T
	GetName() string
}](list []T, name string) *T {
	for i := range list {
		if P(&list[i]).GetName() == name {
			return &list[i]
		}
	}
	return nil
}

// into returns a decoder that decodes raw strictly and appends it to list.
func into[T any](list *[]T) func(raw []byte) error {
	return func(raw []byte) error {
		var v T
		if err := strictDecode(raw, &v); err != nil {
			return err
		}
		*list = append(*list, v)
		return nil
	}
}

// decoders maps each "apiVersion Kind" an overlay may hold to the list of m that keeps it.
func (m *manifests) decoders() map[string]func(raw []byte) error {
	return map[string]func(raw []byte) error{
		"apps/v1 Deployment":                     into(&m.deployments),
		"apps/v1 StatefulSet":                    into(&m.statefulSets),
		"v1 Service":                             into(&m.services),
		"v1 ConfigMap":                           into(&m.configMaps),
		"v1 Secret":                              into(&m.secrets),
		"v1 Namespace":                           into(&m.namespaces),
		"networking.k8s.io/v1 NetworkPolicy":     into(&m.policies),
		"networking.k8s.io/v1 Ingress":           into(&m.ingresses),
		"policy/v1 PodDisruptionBudget":          into(&m.pdbs),
		"autoscaling/v2 HorizontalPodAutoscaler": into(&m.hpas),
	}
}

var (
	renderOnce sync.Map // overlay → func() (*manifests, error)
)

// render builds the overlay once per test binary and fails tb if it does not build or decode.
func render(tb testing.TB, overlay string) *manifests {
	tb.Helper()
	f, _ := renderOnce.LoadOrStore(overlay, sync.OnceValues(func() (*manifests, error) {
		return renderDir(filepath.Join(root, "deploy", "k8s", "overlays", overlay))
	}))
	m, err := f.(func() (*manifests, error))()
	if err != nil {
		tb.Fatalf("overlay %s: %v", overlay, err)
	}
	return m
}

// renderDir runs kustomize on dir and decodes every object strictly: a field the API type does not
// have (a typo, a wrong indentation) is an error, not silently dropped as kubectl's client would.
func renderDir(dir string) (*manifests, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize: %w", err)
	}
	m := &manifests{overlay: filepath.Base(dir)}
	decoders := m.decoders()
	var errs []string
	for _, r := range rm.Resources() {
		raw, err := r.MarshalJSON()
		if err != nil {
			return nil, err
		}
		id := r.GetKind() + "/" + r.GetName()
		derr := fmt.Errorf("kind %s %s is not one this test knows: add it to decoders", r.GetApiVersion(), r.GetKind())
		if decode, ok := decoders[r.GetApiVersion()+" "+r.GetKind()]; ok {
			derr = decode(raw)
		}
		if derr != nil {
			errs = append(errs, id+": "+derr.Error())
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("decode:\n%s", strings.Join(errs, "\n"))
	}
	return m, nil
}

// strictDecode unmarshals raw into v as the API server does: field names match case-sensitively, and
// a field v's type does not have or a duplicate field is an error.
func strictDecode(raw []byte, v any) error {
	strict, err := kjson.UnmarshalStrict(raw, v, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

func TestOverlaysRender(t *testing.T) {
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) {
			m := render(t, o)
			var names []string
			for _, d := range m.deployments {
				names = append(names, d.Name)
			}
			for _, p := range stack.Programs {
				if !slices.Contains(names, p.Name) {
					t.Errorf("overlay %s: no Deployment %s (have %v)", o, p.Name, names)
				}
			}
		})
	}
}

// TestStrictDecodeRefusesUnknownFields shows the decoding this file relies on fails on a typo.
func TestStrictDecodeRefusesUnknownFields(t *testing.T) {
	for _, raw := range []string{
		`{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replica":2}}`,
		`{"apiVersion":"apps/v1","kind":"Deployment","spec":{"Replicas":2}}`,
		`{"apiVersion":"v1","kind":"Service","spec":{"ports":[{"port":80,"targetport":"http"}]}}`,
	} {
		var v appsv1.Deployment
		var s corev1.Service
		target := any(&v)
		if strings.Contains(raw, `"Service"`) {
			target = &s
		}
		if err := strictDecode([]byte(raw), target); err == nil {
			t.Errorf("strictDecode(%s) = nil, want an error", raw)
		}
	}
}
