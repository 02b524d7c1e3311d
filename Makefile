# sam build's recipe for every function (template.yaml: BuildMethod makefile).
# SAM runs one `make build-<LogicalId>` per function; each runs the same single
# cargo lambda build of all the function binaries, so cargo resolves one feature
# set and compiles the dependencies once (the first target does the work, the
# rest find it done), then copies that function's bootstrap into ARTIFACTS_DIR.
# A per-function build (rust-cargolambda) resolves features per crate and
# compiled the SDK again for each function: 41 of the test suite's 62 cold minutes.
# Works from SAM's scratch copy too: it builds from this file's directory.
ROOT := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
TARGET_DIR := $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR),$(ROOT)target)
BINARIES := region-info failover-trigger replica-promoter secret-rewriter detector

# cd to the root so that .cargo/config.toml's arm64 flags apply (cargo reads
# its configuration from the working directory up, not from the manifest's).
define ship
	cd $(ROOT) && cargo lambda build --release --arm64 --locked $(addprefix -p ,$(BINARIES))
	cp $(TARGET_DIR)/lambda/$(1)/bootstrap $(ARTIFACTS_DIR)/bootstrap
endef

build-RegionInfoFunction:
	$(call ship,region-info)
build-FailoverTriggerFunction:
	$(call ship,failover-trigger)
build-ReplicaPromoterFunction:
	$(call ship,replica-promoter)
build-SecretRewriterFunction:
	$(call ship,secret-rewriter)
build-DetectorFunction:
	$(call ship,detector)
build-ReadinessFunction:
	$(call ship,detector)

.PHONY: build-RegionInfoFunction build-FailoverTriggerFunction build-ReplicaPromoterFunction \
	build-SecretRewriterFunction build-DetectorFunction build-ReadinessFunction
