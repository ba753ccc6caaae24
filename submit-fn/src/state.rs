//! What every request handler shares: configuration, the procedures, the calendar,
//! the bucket, and the page layout.

use std::collections::HashMap;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};

use catalog::{Calendar, Content, Procedure, Site};

use crate::config::Config;
use crate::html::Shell;
use crate::storage::Storage;

#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: Config,
    pub site: Site,
    pub unit_code: String,
    pub procedures: HashMap<String, Procedure>,
    pub calendar: Calendar,
    pub storage: Storage,
    pub shell: Shell,
    /// The day (YYMMDD) and the next sequence number to try for it.
    pub sequence_hint: Mutex<Option<(String, Arc<AtomicU32>)>>,
    /// The officers' console: the dossier index kept between requests.
    pub admin: crate::admin::AdminState,
}

impl AppState {
    /// Builds the state from loaded content, an S3 client and the configuration.
    pub fn new(content: &Content, client: aws_sdk_s3::Client, config: Config) -> AppState {
        let storage = Storage::new(client, config.bucket.clone());
        let unit_code = config
            .unit_code
            .clone()
            .unwrap_or_else(|| content.site.unit_code.clone());
        let procedures = content
            .procedures
            .iter()
            .map(|p| (p.code.clone(), p.clone()))
            .collect();
        AppState {
            inner: Arc::new(Inner {
                shell: Shell::plain(&content.site.name),
                site: content.site.clone(),
                unit_code,
                procedures,
                calendar: content.calendar(),
                storage,
                config,
                sequence_hint: Mutex::new(None),
                admin: Default::default(),
            }),
        }
    }

    /// Replaces the page layout (the dev server passes the site's header and footer).
    pub fn with_shell(self, shell: Shell) -> AppState {
        let inner = Arc::try_unwrap(self.inner).unwrap_or_else(|arc| Inner {
            config: arc.config.clone(),
            site: arc.site.clone(),
            unit_code: arc.unit_code.clone(),
            procedures: arc.procedures.clone(),
            calendar: arc.calendar.clone(),
            storage: arc.storage.clone(),
            shell: arc.shell.clone(),
            sequence_hint: Mutex::new(None),
            admin: Default::default(),
        });
        AppState {
            inner: Arc::new(Inner { shell, ..inner }),
        }
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
}
