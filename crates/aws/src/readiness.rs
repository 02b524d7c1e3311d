//! Every port readiness reads, bound to the standby Region: one wiring for the
//! scheduled readiness job and `stopctl check`. Clients are built on first use.

use aws_config::SdkConfig;
use stop_core::Config;
use stop_core::readiness::{Expectations, Standby};

use crate::capacity::AutoScalingCapacity;
use crate::database::RdsDatabase;
use crate::decisions::SsmDecisionStore;
use crate::metrics::{ROUTE53_METRICS_REGION, Route53HealthMetric};
use crate::routing::ArcRoutingControls;
use crate::secrets::SecretsManagerSecrets;
use crate::state::SsmStateStore;
use crate::stop_metric::CloudWatchStopSwitch;
use crate::{LazyClient, SystemClock};

pub struct StandbyReaders {
    pub decisions: SsmDecisionStore,
    pub stop: CloudWatchStopSwitch,
    pub controls: ArcRoutingControls,
    pub database: RdsDatabase,
    pub capacity: AutoScalingCapacity,
    pub secrets: SecretsManagerSecrets,
    pub state: SsmStateStore,
    /// CloudWatch in us-east-1, where Route 53's metrics are.
    pub health: Route53HealthMetric,
}

impl StandbyReaders {
    /// `sdk` is the standby Region's configuration.
    pub fn new(sdk: &SdkConfig, config: &Config) -> Self {
        let endpoints = config
            .services
            .iter()
            .find_map(|s| s.arc.as_ref().map(|a| a.endpoints.clone()))
            .unwrap_or_default();
        StandbyReaders {
            decisions: SsmDecisionStore::new(
                LazyClient::from_sdk(sdk, aws_sdk_ssm::Client::new),
                &config.decision_prefix,
            ),
            stop: CloudWatchStopSwitch::new(LazyClient::from_sdk(
                sdk,
                aws_sdk_cloudwatch::Client::new,
            )),
            controls: ArcRoutingControls::new(sdk, &endpoints),
            database: RdsDatabase::new(LazyClient::from_sdk(sdk, aws_sdk_rds::Client::new))
                .with_metrics(LazyClient::from_sdk(sdk, aws_sdk_cloudwatch::Client::new)),
            capacity: AutoScalingCapacity::new(LazyClient::from_sdk(
                sdk,
                aws_sdk_autoscaling::Client::new,
            )),
            secrets: SecretsManagerSecrets::new(LazyClient::from_sdk(
                sdk,
                aws_sdk_secretsmanager::Client::new,
            )),
            state: SsmStateStore::new(LazyClient::from_sdk(sdk, aws_sdk_ssm::Client::new)),
            health: Route53HealthMetric::new({
                let conf = aws_sdk_cloudwatch::config::Builder::from(sdk)
                    .region(aws_config::Region::new(ROUTE53_METRICS_REGION))
                    .build();
                LazyClient::new(move || aws_sdk_cloudwatch::Client::from_conf(conf))
            }),
        }
    }

    /// Readiness over these ports.
    #[allow(clippy::type_complexity)]
    pub fn standby<'a>(
        &'a self,
        config: &'a Config,
        expect: Expectations,
    ) -> Standby<
        'a,
        SsmDecisionStore,
        CloudWatchStopSwitch,
        ArcRoutingControls,
        RdsDatabase,
        AutoScalingCapacity,
        SecretsManagerSecrets,
        SsmStateStore,
        SystemClock,
        Route53HealthMetric,
    > {
        Standby {
            config,
            decisions: &self.decisions,
            stop: &self.stop,
            controls: &self.controls,
            database: &self.database,
            capacity: &self.capacity,
            secrets: &self.secrets,
            state: &self.state,
            clock: &SystemClock,
            health: &self.health,
            expect,
        }
    }
}
