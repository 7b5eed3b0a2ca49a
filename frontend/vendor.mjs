// Copy third-party browser assets that are served as they are (no bundling) into static/dist/.
// The API docs page (Swagger UI) must work without any CDN: deployments may have no way out.
import { copyFileSync, mkdirSync } from "node:fs";

const swagger = "node_modules/swagger-ui-dist";
mkdirSync("static/dist/swagger-ui", { recursive: true });
for (const file of ["swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png"]) {
  copyFileSync(`${swagger}/${file}`, `static/dist/swagger-ui/${file}`);
}
