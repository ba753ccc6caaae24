//! What every request handler shares: configuration, the procedures, the calendar,
//! the bucket, and the page layout.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use catalog::{Bundle, BundleContent, Calendar, Content, Procedure, Site};

use crate::config::Config;
use catalog::Shell;
use store::Storage;

/// Officers' password checks one process runs at once: argon2id takes 19 MiB and tens
/// of milliseconds each, and a function instance has 256 MB.
pub const PASSWORD_CHECKS_AT_ONCE: usize = 2;

#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: Config,
    pub site: Site,
    pub unit_code: String,
    pub procedures: HashMap<String, Procedure>,
    /// Procedure code → the version of its form the generator wrote into the form page.
    pub form_versions: BTreeMap<String, String>,
    /// The bundle's content hash, to tell which build the function is running.
    pub catalog_sha256: String,
    pub calendar: Calendar,
    pub storage: Storage,
    /// The notices' transports, built once.
    pub notifier: outbox::Notifier,
    pub shell: Shell,
    /// The day's dossier numbers, claimed once each.
    pub sequence: store::dossiers::Sequence,
    /// The home page's widgets: the same bucket, the site's poll.
    pub widgets: widgets::WidgetsState,
    /// The officers' console: the dossier index kept between requests.
    pub index: tokio::sync::Mutex<store::index::Index>,
    /// Password checks running at once (argon2id is costly in memory and time).
    pub password_checks: Arc<tokio::sync::Semaphore>,
    /// The per-client limits counted in this process (kept across a dev rebuild).
    pub client_limiter: Arc<crate::limits::ClientLimiter>,
    /// The public service figures' last write (the `figures` module).
    pub published: std::sync::Mutex<Published>,
}

impl AppState {
    /// Builds the state from the function bundle the generator wrote (what a deployed
    /// function and `generator serve` run on), an S3 client and the configuration.
    pub fn from_bundle(bundle: Bundle, storage: Storage, config: Config) -> AppState {
        let limiter = crate::limits::ClientLimiter::new(crate::limits::CLIENT_LIMITS);
        AppState::build(bundle, storage, config, Arc::new(limiter))
    }

    /// The same store and configuration with another bundle: the dev server's function
    /// after a rebuild. The console's index cache starts afresh (it is rebuilt from the
    /// store's snapshot on the next list).
    pub fn with_bundle(&self, bundle: Bundle) -> AppState {
        AppState::build(
            bundle,
            self.inner.storage.clone(),
            self.inner.config.clone(),
            self.inner.client_limiter.clone(),
        )
    }

    fn build(
        bundle: Bundle,
        storage: Storage,
        config: Config,
        client_limiter: Arc<crate::limits::ClientLimiter>,
    ) -> AppState {
        let BundleContent {
            site,
            procedures,
            form_versions,
            holidays,
            shell,
        } = bundle.content;
        let unit_code = config
            .unit_code
            .clone()
            .unwrap_or_else(|| site.unit_code.clone());
        let procedures = procedures
            .into_iter()
            .map(|p| (p.code.clone(), p))
            .collect();
        let widgets = widgets::WidgetsState {
            storage: storage.clone(),
            poll: site.poll.clone().map(Arc::new),
        };
        AppState {
            inner: Arc::new(Inner {
                shell,
                site,
                unit_code,
                procedures,
                form_versions,
                catalog_sha256: bundle.content_sha256,
                calendar: Calendar::new(&holidays),
                storage,
                notifier: outbox::Notifier::new(config.notify.clone()),
                config,
                sequence: Default::default(),
                index: Default::default(),
                password_checks: Arc::new(tokio::sync::Semaphore::new(PASSWORD_CHECKS_AT_ONCE)),
                widgets,
                client_limiter,
                published: Default::default(),
            }),
        }
    }

    /// Builds the state straight from loaded content, with a bare layout: for tests and
    /// benchmarks, where no site was built. The same path as a bundle read from disk,
    /// minus the file.
    pub fn new(content: &Content, storage: Storage, config: Config) -> AppState {
        let bundle = BundleContent::from_content(content, Shell::plain(&content.site.name));
        AppState::from_bundle(bundle.into_bundle(), storage, config)
    }

    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    pub fn site(&self) -> &Site {
        &self.inner.site
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn procedure(&self, code: &str) -> Option<&Procedure> {
        self.inner.procedures.get(code)
    }

    /// Every procedure this function holds.
    pub fn procedures(&self) -> impl Iterator<Item = &Procedure> {
        self.inner.procedures.values()
    }

    /// The version of a procedure's online form that this function holds.
    pub fn form_version(&self, code: &str) -> Option<&str> {
        self.inner.form_versions.get(code).map(String::as_str)
    }

    /// The permits for password checks ([`PASSWORD_CHECKS_AT_ONCE`]).
    pub fn password_checks(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.inner.password_checks
    }

    /// The per-client limits of this process.
    pub fn client_limiter(&self) -> &crate::limits::ClientLimiter {
        &self.inner.client_limiter
    }

    /// What the home page's widgets need.
    pub fn widgets(&self) -> widgets::WidgetsState {
        self.inner.widgets.clone()
    }

    /// The notices' configuration and transports.
    pub fn notifier(&self) -> &outbox::Notifier {
        &self.inner.notifier
    }

    /// One delivery pass over the outbox (the schedule, the console's button, the local
    /// timer).
    pub async fn deliver_due(
        &self,
        now: time::OffsetDateTime,
    ) -> store::StorageResult<outbox::deliver::DeliveryReport> {
        outbox::deliver::deliver_due(&self.inner.storage, &self.inner.notifier, now).await
    }

    /// The desk's index of dossiers this process keeps between requests.
    pub fn index(&self) -> &tokio::sync::Mutex<store::index::Index> {
        &self.inner.index
    }

    /// The unit code the dossier codes are made with.
    pub fn unit_code(&self) -> &str {
        &self.inner.unit_code
    }

    /// The content hash of the bundle this state was built from.
    pub fn catalog_sha256(&self) -> &str {
        &self.inner.catalog_sha256
    }
}

/// What the public service figures' last write was, in this process (kept here, with
/// the rest of the process's memory; the `figures` module reads and sets it).
#[derive(Default)]
pub struct Published {
    pub fingerprint: Option<String>,
    pub at_ms: i64,
}
