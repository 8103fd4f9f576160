//! Errors at the API edge: every failure of a request becomes one AWS error, in the restJson1 form
//! that the AWS SDKs parse (status code, `x-amzn-ErrorType` header, JSON body with `Code` and
//! `Message`). This is the one place where library errors are mapped to AWS error codes.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use findinghub_store::StoreError;
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    InvalidAccess(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ResourceConflict(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    Internal(String),
    /// A failure of authentication, with AWS's code and status.
    #[error("{message}")]
    Auth { code: &'static str, status: u16, message: String },
    /// A route that exists in the model but that findinghub does not serve yet.
    #[error("{0} is not supported by findinghub yet")]
    NotSupported(&'static str),
    /// No operation of the model has this method and path.
    #[error("No operation matches {0}")]
    UnknownOperation(String),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidInput(_) => "InvalidInputException",
            ApiError::InvalidAccess(_) => "InvalidAccessException",
            ApiError::AccessDenied(_) => "AccessDeniedException",
            ApiError::ResourceNotFound(_) => "ResourceNotFoundException",
            ApiError::ResourceConflict(_) => "ResourceConflictException",
            ApiError::LimitExceeded(_) => "LimitExceededException",
            ApiError::Internal(_) => "InternalException",
            ApiError::Auth { code, .. } => code,
            // Not a modelled exception: the SDKs surface it by its code and message.
            ApiError::NotSupported(_) => "UnsupportedOperation",
            ApiError::UnknownOperation(_) => "UnknownOperationException",
        }
    }

    pub fn status(&self) -> StatusCode {
        let code = match self {
            ApiError::InvalidInput(_) => 400,
            ApiError::InvalidAccess(_) => 401,
            ApiError::AccessDenied(_) => 403,
            ApiError::ResourceNotFound(_) => 404,
            ApiError::ResourceConflict(_) => 409,
            ApiError::LimitExceeded(_) => 429,
            ApiError::Internal(_) => 500,
            ApiError::Auth { status, .. } => *status,
            ApiError::NotSupported(_) => 400,
            ApiError::UnknownOperation(_) => 404,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The error of an account whose hub is not enabled.
    pub fn hub_not_enabled(account: &str) -> ApiError {
        ApiError::InvalidAccess(format!("Account {account} is not subscribed to AWS Security Hub"))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidToken => ApiError::InvalidInput("The NextToken is not valid".into()),
            StoreError::Backend(msg) => {
                tracing::error!(error = %msg, "storage failure");
                ApiError::Internal("Internal service failure".into())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code();
        let body = json!({ "Code": code, "Message": self.to_string(), "__type": code });
        let mut response = crate::wire::json_response(self.status(), &body);
        if let Ok(v) = HeaderValue::from_str(code) {
            response.headers_mut().insert("x-amzn-ErrorType", v);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
