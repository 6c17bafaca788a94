import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiSecurity } from '@nestjs/swagger';
import { decoratorStack } from '../common/decorator-stack';
import { ErrorResponseDto } from '../common/error-response.dto';
import { ApiErrors } from '../common/openapi';
import type { ActorContext } from '../audit/audit-entry';
import { Permission, Principal } from './permission';

export const PERMISSIONS_KEY = 'auth:permissions';

/** The caller's key must carry every listed permission; the API description gains the 403. */
export const RequirePermissions = (...permissions: Permission[]) =>
  applyDecorators(SetMetadata(PERMISSIONS_KEY, permissions), ApiErrors('PERMISSION_DENIED'));

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest<{ principal: Principal }>().principal,
);

/** Who acts and under which request, for audit rows: the key's name and the request id. */
export const Actor = createParamDecorator((_: unknown, ctx: ExecutionContext): ActorContext => {
  const req = ctx.switchToHttp().getRequest<{ principal: Principal; id?: unknown }>();
  return { actor: req.principal.name, requestId: req.id === undefined ? null : String(req.id) };
});

/**
 * Swagger for a controller behind the API key: both auth schemes, the 401,
 * and with `permission` the 403 of a key that lacks it.
 */
export const ApiKeyAuth = (permission?: Permission) =>
  decoratorStack(
    ApiBearerAuth(),
    ApiSecurity('api-key'),
    ApiResponse({ status: 401, description: 'Missing or invalid API key', type: ErrorResponseDto }),
    ...(permission
      ? [ApiResponse({ status: 403, description: `Key lacks ${permission}`, type: ErrorResponseDto })]
      : []),
  );
